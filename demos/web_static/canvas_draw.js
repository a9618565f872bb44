// Values drawn on a canvas, one value per cell, scaled up without smoothing:
// grey levels (the model's input, white ink on black) and signed maps
// (occlusion: red where hiding a pixel lowers the probability, blue where it raises it).

/** Draw grey levels in [0, 1] (white ink on black, as the model sees it). */
export function drawGrey(canvas, values, height, width) {
  const image = new ImageData(width, height);
  values.forEach((v, i) => {
    const level = Math.round(255 * Math.min(1, Math.max(0, v)));
    image.data.set([level, level, level, 255], 4 * i);
  });
  paint(canvas, image);
}

/** Draw signed values: red where hiding the pixel lowers the probability, blue where it raises it. */
export function drawDiverging(canvas, values, height, width) {
  let peak = 1e-12;
  for (const v of values) peak = Math.max(peak, Math.abs(v));
  const image = new ImageData(width, height);
  values.forEach((v, i) => {
    const t = v / peak;
    const rgb = t >= 0 ? [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]
                       : [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255];
    image.data.set([...rgb, 255], 4 * i);
  });
  paint(canvas, image);
}

function paint(canvas, image) {
  const scratch = new OffscreenCanvas(image.width, image.height);
  scratch.getContext('2d').putImageData(image, 0, 0);
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = false;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}
