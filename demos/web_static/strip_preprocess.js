// A drawing of a word as the word reader's strip: the same arithmetic as
// keras_seq.export.word_image (grey levels as Pillow's "L") followed by
// keras_seq.datasets.word_strips.normalise_strip:
//
//   1. polarity from the border's median, 2. contrast stretch to [0, 1],
//   3. crop to the rows and columns holding a pixel > 0.2 (preprocess.js's inkBox),
//   4. the writing's core band [top, bottom) from the row profile p_y = sum_x ink[y, x]: the first to
//      past the last row with p_y >= bandFraction * (the bandQuantile quantile of p), widened about its
//      centre to at least minBandFraction of the ink's height (word_strips.writing_band);
//      rows resized onto the band's intervals (band on the middle coreRows rows, pitch q = band / coreRows,
//      ascenders and descenders at pitch q or squeezed to fit their rows: word_strips.row_intervals),
//      columns to w' = max(1, round(w * coreRows / band)):
//        strip = clip(R_h ink R_w^T, 0, 1),  R[j, i] = |[a_j, b_j) ∩ [i, i + 1)| / (b_j - a_j),
//   5. MARGIN blank columns each side, one more on the right when w' is odd.
//
// The resize weights are computed in double and rounded to float32 as numpy
// does; the two products (over each output's nonzero weights only)
// accumulate in double and round to float32 (numpy's float32 matrix products
// round differently only in the last bits).

import { inkBox, roundHalfEven } from './preprocess.js';

const f32 = Math.fround;

/** A drawing the reader cannot read (blank, too thin, too wide); `reason` names which. */
export class StripError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = 'StripError';
    this.reason = reason;
  }
}

/**
 * An area-average resize onto the source intervals [starts[j], ends[j]), as
 * word_strips.interval_resize_matrix: output j's weights over the source pixels it covers,
 * {first: Int32Array, weights: Float32Array[]} (weights[j][i] is R[j, first[j] + i]).
 */
export function intervalWeights(starts, ends, source) {
  const target = starts.length;
  const first = new Int32Array(target), weights = [];
  for (let j = 0; j < target; j++) {
    const start = starts[j], end = ends[j];
    const from = Math.max(0, Math.floor(start)), to = Math.min(source - 1, Math.ceil(end));
    const row = new Float32Array(Math.max(0, to - from + 1));
    for (let i = from; i <= to; i++) {
      const overlap = Math.min(end, i + 1.0) - Math.max(start, i);
      if (overlap > 0) row[i - from] = f32(overlap / (end - start));
    }
    first[j] = from;
    weights.push(row);
  }
  return { first, weights };
}

/** The uniform area-average resize along one axis (word_strips.box_resize_matrix): intervals [j s, (j + 1) s). */
export function boxResizeWeights(source, target) {
  const scale = source / target, starts = [], ends = [];
  for (let j = 0; j < target; j++) {
    starts.push(j * scale);
    ends.push(j * scale + scale);
  }
  return intervalWeights(starts, ends, source);
}

/** R_h image R_w^T for a float32 image (height x width, row-major) and two weight sets, each product rounded to float32. */
function resize(image, width, down, across) {
  const outHeight = down.weights.length, outWidth = across.weights.length;
  const rows = new Float32Array(outHeight * width);
  for (let j = 0; j < outHeight; j++) {
    const w = down.weights[j], from = down.first[j];
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let i = 0; i < w.length; i++) sum += w[i] * image[(from + i) * width + x];
      rows[j * width + x] = f32(sum);
    }
  }
  const out = new Float32Array(outHeight * outWidth);
  for (let j = 0; j < outHeight; j++) {
    for (let c = 0; c < outWidth; c++) {
      const w = across.weights[c], from = across.first[c];
      let sum = 0;
      for (let i = 0; i < w.length; i++) sum += rows[j * width + from + i] * w[i];
      out[j * outWidth + c] = f32(sum);
    }
  }
  return out;
}

/** numpy's default ("linear") quantile q of an array of numbers. */
function quantile(values, q) {
  const sorted = Float64Array.from(values).sort();
  const at = q * (sorted.length - 1), below = Math.floor(at), t = at - below;
  if (below + 1 >= sorted.length) return sorted[below];
  const a = sorted[below], b = sorted[below + 1], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The core band [top, bottom) of an ink crop (rows), as word_strips.writing_band. */
export function writingBand(ink, inkHeight, inkWidth, reader) {
  const profile = new Float64Array(inkHeight);
  for (let y = 0; y < inkHeight; y++) {
    let sum = 0;
    for (let x = 0; x < inkWidth; x++) sum += ink[y * inkWidth + x];
    profile[y] = sum;
  }
  const level = reader.bandFraction * quantile(profile, reader.bandQuantile);
  let first = -1, last = -1;
  for (let y = 0; y < inkHeight; y++) {
    if (profile[y] >= level) {
      if (first < 0) first = y;
      last = y;
    }
  }
  let top = first, bottom = last + 1;
  const least = reader.minBandFraction * inkHeight;
  if (bottom - top < least) {
    const grow = (least - (bottom - top)) / 2;
    top -= grow;
    bottom += grow;
    const shift = Math.max(0, -top) - Math.max(0, bottom - inkHeight);
    top += shift;
    bottom += shift;
  }
  return { top, bottom };
}

/** Source intervals of the strip's rows (word_strips.row_intervals): {starts, ends}. */
export function rowIntervals(inkHeight, top, bottom, reader) {
  const pitch = (bottom - top) / reader.coreRows;
  const up = Math.max(pitch, top / reader.ascenderRows);
  const down = Math.max(pitch, (inkHeight - bottom) / reader.descenderRows);
  const edges = [];
  for (let k = reader.ascenderRows; k > 0; k--) edges.push(top - up * k);
  for (let k = 0; k < reader.coreRows; k++) edges.push(top + pitch * k);
  for (let k = 0; k <= reader.descenderRows; k++) edges.push(bottom + down * k);
  return { starts: edges.slice(0, -1), ends: edges.slice(1) };
}

/**
 * The normalised strip of a grey image (Float32Array, row-major height x width):
 * {values (Float32Array, rows x columns, row-major), columns, inkHeight, inkWidth}.
 * `reader` holds the constants of config.json's wordReader (height, margin,
 * minInkRows, width: the widest strip the reader takes; the band's
 * ascenderRows, coreRows, descenderRows, bandFraction, bandQuantile, minBandFraction).
 * Throws a StripError for a blank drawing, ink under minInkRows rows high, or a strip wider than the reader.
 */
export function wordStrip(grey, width, height, reader) {
  const box = inkBox(grey, width, height);
  if (box === null) {
    throw new StripError('blank', `the canvas is blank (${height}x${width} pixels of one value): `
      + 'there is no ink to read; write a word first');
  }
  const inkHeight = box.bottom - box.top + 1, inkWidth = box.right - box.left + 1;
  if (inkHeight < reader.minInkRows) {
    throw new StripError('thin', `the ink is ${inkHeight} pixel high; a word needs at least `
      + `${reader.minInkRows} rows of ink to be scaled to ${reader.height} rows`);
  }
  const ink = new Float32Array(inkHeight * inkWidth);
  for (let y = 0; y < inkHeight; y++) {
    const from = (y + box.top) * width + box.left;
    ink.set(box.image.subarray(from, from + inkWidth), y * inkWidth);
  }
  const band = writingBand(ink, inkHeight, inkWidth, reader);
  const scaled = Math.max(1, roundHalfEven(inkWidth * reader.coreRows / (band.bottom - band.top)));
  const columns = scaled + 2 * reader.margin + (scaled % 2);
  if (columns > reader.width) {
    throw new StripError('wide', `the word is ${columns} columns wide once its letters are scaled to `
      + `${reader.coreRows} rows (ink ${inkHeight}x${inkWidth} pixels); the reader takes at most `
      + `${reader.width}: write fewer letters, or write them taller`);
  }
  const rows = rowIntervals(inkHeight, band.top, band.bottom, reader);
  const resized = resize(ink, inkWidth, intervalWeights(rows.starts, rows.ends, inkHeight),
    boxResizeWeights(inkWidth, scaled));
  const values = new Float32Array(reader.height * columns);
  for (let y = 0; y < reader.height; y++) {
    for (let x = 0; x < scaled; x++) {
      values[y * columns + reader.margin + x] = Math.min(1, Math.max(0, resized[y * scaled + x]));
    }
  }
  return { values, columns, inkHeight, inkWidth, band };
}

/**
 * The reader's input (1, height, reader.width, 2) as a flat Float32Array:
 * channel 0 the strip's pixels, channel 1 the column mask (1 on the strip's
 * columns, 0 on the padding to its right), as word_strips.model_input makes it.
 */
export function modelInput(values, columns, reader) {
  const input = new Float32Array(reader.height * reader.width * 2);
  for (let y = 0; y < reader.height; y++) {
    for (let x = 0; x < columns; x++) {
      const at = 2 * (y * reader.width + x);
      input[at] = values[y * columns + x];
      input[at + 1] = 1;
    }
  }
  return input;
}
