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

/**
 * Which columns of a word strip made each decoded letter, as
 * keras_seq.demos.words.ColumnOcclusion computes it: for a window of
 * `window` columns starting at c (every `stride` columns, starts below
 * max(1, width - window + 1)) the pixels are set to paper (0), the reader
 * runs again, and letter i's score s_i = max over its span's steps of
 * y_t(letter_i) is recomputed. The drop d_i(c) = max(0, s_i - s_i^(c)) is
 * spread over the window's columns and averaged, and each letter's row is
 * scaled to a maximum of 1:
 *
 *   S[i, col] = mean_{c : col in [c, c + window)} d_i(c) / max_col(...)
 *
 * `predict(strip) -> Promise<probabilities>` runs one strip (height x width,
 * row-major) and gives its per-step distributions (steps x symbols, flat);
 * `reading` is greedyDecode's. Returns {maps: one Float32Array(width) per letter, runs}.
 */
export async function columnOcclusion(predict, strip, height, width, reading, symbols, { window = 4, stride = 2 } = {}) {
  const { labels, spans } = reading;
  if (labels.length === 0) return { maps: [], runs: 0 };
  // float32 scores and drops, as numpy keeps the file's float32 outputs
  const scores = (y) => labels.map((k, i) => {
    let best = -Infinity;
    for (let t = spans[i][0]; t <= spans[i][1]; t++) best = Math.max(best, y[t * symbols + k]);
    return best;
  });
  const base = scores(await predict(strip));
  const total = labels.map(() => new Float64Array(width));
  const count = new Float64Array(width);
  const hidden = new Float32Array(strip.length);
  let runs = 1;
  for (let start = 0; start < Math.max(1, width - window + 1); start += stride) {
    const end = Math.min(width, start + window);
    hidden.set(strip);
    for (let y = 0; y < height; y++) hidden.fill(0, y * width + start, y * width + end);
    const occluded = scores(await predict(hidden));
    runs += 1;
    base.forEach((s, i) => {
      const drop = Math.max(0, Math.fround(s - occluded[i]));
      for (let c = start; c < end; c++) total[i][c] += drop;
    });
    for (let c = start; c < end; c++) count[c] += 1;
  }
  const maps = total.map((row) => {
    const mean = row.map((v, c) => v / Math.max(count[c], 1));
    let peak = 0;
    for (const v of mean) peak = Math.max(peak, v);
    return Float32Array.from(mean, (v) => v / (peak > 0 ? peak : 1));
  });
  return { maps, runs };
}
