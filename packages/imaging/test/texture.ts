import sharp, { type Sharp } from 'sharp'

/** A smooth colour field with fine stripes: JPEG keeps it well, and a resampler can get it visibly wrong. */
export function texture(width: number, height: number): Sharp {
  const pixels = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      pixels[i] = Math.round((255 * x) / width)
      pixels[i + 1] = Math.round((255 * y) / height)
      pixels[i + 2] = 128 + Math.round(100 * Math.sin(x / 3) * Math.cos(y / 5))
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
}
