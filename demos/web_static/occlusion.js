// Occlusion sensitivity through a predict function, the same maps as
// keras_seq.demos.occlusion.OcclusionSensitivity computes in Python:
//
//   M_c(i, j) = mean over patches P covering (i, j) of [p_c(x) - p_c(x with P := fill)]
//
// Patches are `patch` x `patch` squares on a `stride` grid whose last row and
// column touch the border, so every pixel is covered.

/** Top-left corners of the patches, the last row/column touching the border. */
export function positions(height, width, patch, stride) {
  const axis = (size) => {
    const starts = new Set();
    for (let s = 0; s <= size - patch; s += stride) starts.add(s);
    starts.add(size - patch);
    return [...starts].sort((a, b) => a - b);
  };
  const corners = [];
  for (const r of axis(height)) for (const c of axis(width)) corners.push([r, c]);
  return corners;
}

/**
 * The occlusion map (Float32Array, height x width) of `image` for class `target`.
 * `predict(Float32Array) -> Promise<probabilities>` runs one image.
 */
export async function occlusionMap(predict, image, height, width, target, { patch = 6, stride = 2, fill = 0 } = {}) {
  const base = (await predict(image))[target];
  const total = new Float64Array(height * width);
  const count = new Float64Array(height * width);
  const occluded = new Float32Array(image.length);
  for (const [r, c] of positions(height, width, patch, stride)) {
    occluded.set(image);
    for (let y = r; y < r + patch; y++) occluded.fill(fill, y * width + c, y * width + c + patch);
    const drop = base - (await predict(occluded))[target];
    for (let y = r; y < r + patch; y++) {
      for (let x = c; x < c + patch; x++) {
        total[y * width + x] += drop;
        count[y * width + x] += 1;
      }
    }
  }
  return Float32Array.from(total, (t, i) => t / count[i]);
}
