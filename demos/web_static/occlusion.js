// Occlusion sensitivity through a predict function, one loop (occlude) for
// the page's three maps, each as Python computes it:
//
//   M_k(cell) = mean over patches P covering cell of drop(s_k(x), s_k(x with P hidden))
//
// occlusionMap: keras_seq.demos.occlusion.OcclusionSensitivity (the digit);
// columnOcclusion: keras_seq.demos.words.ColumnOcclusion (the word reader);
// the word panel's per-letter map (word_panel.js) hides patches of one letter.
// Square patches are `patch` x `patch` on a `stride` grid whose last row and
// column touch the border, so every pixel is covered.

/**
 * The one occlusion loop. For each patch {hide, cover} the input with the
 * values at the flat indices `hide` set to `fill` is run, and each score's
 * drop(base_k, occluded_k) is added to the map cells `cover`; each cell ends
 * as the mean over the patches covering it (0 where none does).
 * `predict(Float32Array) -> Promise<output>` runs one input; `scores(output)`
 * gives the scores explained; `base`: the input's own scores (run here when
 * not given). Resolves to {maps: one Float64Array(mapSize) per score, runs}.
 */
export async function occlude(predict, input, patches, scores, mapSize,
                              { fill = 0, base = null, drop = (before, after) => before - after } = {}) {
  let runs = 0;
  const run = async (values) => {
    runs += 1;
    return scores(await predict(values));
  };
  const before = base || await run(input);
  const total = before.map(() => new Float64Array(mapSize));
  const count = new Float64Array(mapSize);
  const hidden = new Float32Array(input.length);
  for (const { hide, cover } of patches) {
    hidden.set(input);
    for (const i of hide) hidden[i] = fill;
    const after = await run(hidden);
    before.forEach((score, k) => {
      const d = drop(score, after[k]);
      for (const cell of cover) total[k][cell] += d;
    });
    for (const cell of cover) count[cell] += 1;
  }
  return { maps: total.map((map) => map.map((v, cell) => (count[cell] ? v / count[cell] : 0))), runs };
}

/** Flat indices of the `patch` x `patch` square at (r, c) of a row-major image `width` wide, from `offset`. */
export function square(r, c, patch, width, offset = 0) {
  const indices = [];
  for (let y = r; y < r + patch; y++) for (let x = c; x < c + patch; x++) indices.push(offset + y * width + x);
  return indices;
}

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
  const patches = positions(height, width, patch, stride).map(([r, c]) => {
    const pixels = square(r, c, patch, width);
    return { hide: pixels, cover: pixels };
  });
  const { maps } = await occlude(predict, image, patches, (p) => [p[target]], height * width, { fill });
  return Float32Array.from(maps[0]);
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
  const scores = (y) => labels.map((k, i) => {
    let best = -Infinity;
    for (let t = spans[i][0]; t <= spans[i][1]; t++) best = Math.max(best, y[t * symbols + k]);
    return best;
  });
  const patches = [];
  for (let start = 0; start < Math.max(1, width - window + 1); start += stride) {
    const columns = [];
    for (let c = start; c < Math.min(width, start + window); c++) columns.push(c);
    const hide = [];
    for (let y = 0; y < height; y++) for (const c of columns) hide.push(y * width + c);
    patches.push({ hide, cover: columns });
  }
  // float32 drops, as numpy keeps the file's float32 outputs
  const drop = (before, after) => Math.max(0, Math.fround(before - after));
  const { maps, runs } = await occlude(predict, strip, patches, scores, width, { drop });
  return {
    maps: maps.map((mean) => {
      let peak = 0;
      for (const v of mean) peak = Math.max(peak, v);
      return Float32Array.from(mean, (v) => v / (peak > 0 ? peak : 1));
    }),
    runs,
  };
}
