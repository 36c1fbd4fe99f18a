import type { DownscaleInterpolation } from '@genimage/shared'
import type { Degradation } from '@genimage/shared/protocols'
import sharp from 'sharp'

const KERNELS = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic', lanczos3: 'lanczos3' } as const

/** The recorded parameters of how test images were degraded (GenImage leaves these unstated). */
export interface DegradeSettings {
  interpolation: DownscaleInterpolation
  /** Also degrade real (`nature`) images; the default of the platform is true. */
  degradeReal: boolean
}

/**
 * Applies one Table 5 style degradation to an encoded image and returns encoded bytes:
 * - `downscale`: the shorter side to `size` pixels (aspect kept; never enlarged), saved losslessly (PNG);
 * - `jpeg`: re-encoded as baseline JPEG at `quality` (libjpeg-turbo, 4:2:0 chroma);
 * - `blur`: Gaussian blur with standard deviation `sigma` pixels, saved losslessly.
 * The model's own transform then resizes to its input as for any image.
 */
export async function degradeImage(encoded: Uint8Array, degradation: Degradation, settings: DegradeSettings): Promise<Uint8Array> {
  const image = () => sharp(encoded, { failOn: 'error', pages: 1 }).rotate().removeAlpha()
  switch (degradation.kind) {
    case 'none':
      return encoded
    case 'downscale':
      return image()
        .resize({ width: degradation.size, height: degradation.size, fit: 'outside', withoutEnlargement: true, kernel: KERNELS[settings.interpolation] })
        .png({ compressionLevel: 1 })
        .toBuffer()
    case 'jpeg':
      return image().jpeg({ quality: degradation.quality, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer()
    case 'blur':
      return image().blur(degradation.sigma).png({ compressionLevel: 1 }).toBuffer()
  }
}
