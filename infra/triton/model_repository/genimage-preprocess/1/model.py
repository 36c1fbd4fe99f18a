"""Triton Python backend: decode encoded images and build the FP32 tensor the GenImage model card describes
(shorter side to the input size, centre crop, bilinear, RGB, (x/255 - mean) / std, NCHW)."""
import io

import numpy as np
import triton_python_backend_utils as pb_utils
from PIL import Image, ImageOps


class TritonPythonModel:
    def initialize(self, args):
        import json

        params = {k: v["string_value"] for k, v in json.loads(args["model_config"])["parameters"].items()}
        self.size = int(params["input_size"])
        self.mean = np.array([float(x) for x in params["mean"].split(",")], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.array([float(x) for x in params["std"].split(",")], dtype=np.float32).reshape(3, 1, 1)

    def _tensor(self, encoded):
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(encoded))).convert("RGB")
        scale = self.size / min(image.size)
        w, h = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
        image = image.resize((w, h), Image.BILINEAR)
        left, top = (w - self.size) // 2, (h - self.size) // 2
        image = image.crop((left, top, left + self.size, top + self.size))
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return (pixels - self.mean) / self.std

    def execute(self, requests):
        responses = []
        for request in requests:
            encoded = pb_utils.get_input_tensor_by_name(request, "image_bytes").as_numpy()
            try:
                batch = np.stack([self._tensor(bytes(e)) for e in encoded.reshape(-1)]).astype(np.float32)
                responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("image", batch)]))
            except Exception as error:  # a corrupt image fails its request, not the model
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"corrupt_image: {error}")))
        return responses
