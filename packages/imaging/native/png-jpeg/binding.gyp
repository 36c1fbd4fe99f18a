{
  "targets": [
    {
      "target_name": "png_jpeg",
      "sources": [
        "png_decode.c",
        "jpeg_encode.c",
        "png_jpeg.c"
      ],
      "libraries": [
        "-ljpeg",
        "-ldeflate"
      ],
      "cflags": [
        "-O3",
        "-Wall"
      ],
      "include_dirs": [
        "../../../../native"
      ]
    }
  ]
}
