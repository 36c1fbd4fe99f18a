export { buildMini, miniItemName, MINI_JPEG_QUALITY, type BuildMiniOptions, type BuildMiniResult, type MiniProgress } from './build.ts'
export { MINI_GENERATOR_NAMES, type MiniGeneratorName } from './generators.ts'
export { MINI_MANIFEST_FILE, validateMiniOptions, type MiniManifest } from './manifest.ts'
export { DEFAULT_PHOTOS_DIR as MINI_PHOTOS_DIR, listPhotos, splitPhotos, type PhotoSplit } from './photos.ts'
