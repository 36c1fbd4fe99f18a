/** The commands that put a servable model folder (model.onnx + card.json) in a runner's model directory. */
export const MAKE_MODEL_COMMANDS =
  'train one with `npx genimage train --model npr-tiny --data <GenImage-layout root> --train-on <generators>`, ' +
  'or write the untrained handmade statistic with `npx genimage models handmade`'
