// MNIST-style preprocessing of a drawing, the same arithmetic as
// keras_seq.export.digit_image.mnist_style reading a PNG with Pillow:
//
//   grey  = (19595 R + 38470 G + 7471 B + 2^15) >> 16, divided by 255 (float32)
//   flip polarity when the border's median is > 0.5, stretch to [0, 1],
//   crop to the ink (> 0.2), scale the longer side to 20 pixels with Pillow's
//   Lanczos filter on 8-bit pixels, paste centred in 28x28, then shift so the
//   centre of mass sits at (14, 14).
//
// Every float32 step is Math.fround of the double result (exact for + - * /),
// sums follow numpy's pairwise summation, and rounding is Python's
// round-half-to-even, so the 28x28 input equals the Python one bit for bit.

export const MNIST_SIZE = 28;
export const BOX_SIZE = 20;
const INK_THRESHOLD = Math.fround(0.2);   // numpy compares float32 pixels with float32(0.2)
const f32 = Math.fround;

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** numpy's pairwise sum of a contiguous array (float32 accumulator when single). */
export function pairwiseSum(values, single) {
  const add = single ? (a, b) => f32(a + b) : (a, b) => a + b;
  const sum = (start, n) => {
    if (n < 8) {
      let s = 0;
      for (let i = 0; i < n; i++) s = add(s, values[start + i]);
      return s;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(values[start + j]);
      let i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] = add(r[j], values[start + i + j]);
      }
      let s = add(add(add(r[0], r[1]), add(r[2], r[3])), add(add(r[4], r[5]), add(r[6], r[7])));
      for (; i < n; i++) s = add(s, values[start + i]);
      return s;
    }
    let half = Math.floor(n / 2);
    half -= half % 8;
    return add(sum(start, half), sum(start + half, n - half));
  };
  return sum(0, values.length);
}

/** Pillow's convert("L") of RGBA pixels, as float32 grey levels in [0, 1]. */
export function greyLevels(rgba, width, height) {
  const grey = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const level = (rgba[4 * i] * 19595 + rgba[4 * i + 1] * 38470 + rgba[4 * i + 2] * 7471 + 0x8000) >> 16;
    grey[i] = f32(level / 255);
  }
  return grey;
}

const PRECISION_BITS = 22;   // Pillow's 8-bit resampling: 32 - 8 - 2

function lanczos(x) {
  const sinc = (t) => (t === 0 ? 1 : Math.sin(t * Math.PI) / (t * Math.PI));
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis (Lanczos, support 3). */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const inverse = 1 / filterScale;
  const bounds = [];
  const weights = new Int32Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const k = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos((x + xmin - center + 0.5) * inverse);
      k.push(w);
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS)
                                                 : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds.push([xmin, xmax]);
  }
  return { ksize, bounds, weights };
}

function clip8(sum) {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

function horizontalPass(pixels, width, rows, rowOffset, outW) {
  const { ksize, bounds, weights } = coefficients(width, outW);
  const out = new Uint8Array(outW * rows);
  for (let yy = 0; yy < rows; yy++) {
    for (let xx = 0; xx < outW; xx++) {
      const [xmin, xmax] = bounds[xx];
      let sum = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < xmax; x++) sum += pixels[(yy + rowOffset) * width + x + xmin] * weights[xx * ksize + x];
      out[yy * outW + xx] = clip8(sum);
    }
  }
  return out;
}

function verticalPass(pixels, width, vertical, rowOffset, outH) {
  const { ksize, bounds, weights } = vertical;
  const out = new Uint8Array(width * outH);
  for (let yy = 0; yy < outH; yy++) {
    const [ymin, ymax] = bounds[yy];
    for (let xx = 0; xx < width; xx++) {
      let sum = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) sum += pixels[(y + ymin - rowOffset) * width + xx] * weights[yy * ksize + y];
      out[yy * width + xx] = clip8(sum);
    }
  }
  return out;
}

/**
 * Pillow's Image.resize((outW, outH), LANCZOS) of an 8-bit grey image: two
 * separable passes, each rounded to 8 bits. Pillow >= 13 runs the vertical
 * pass first when the height shrinks by more than twice as many pixels as
 * the width (``verticalFirstRule``); older Pillow always starts horizontally.
 */
export function resizeLanczos(pixels, width, height, outW, outH, verticalFirstRule = true) {
  const needHorizontal = outW !== width, needVertical = outH !== height;
  if (!needHorizontal && !needVertical) return Uint8Array.from(pixels);
  const vertical = coefficients(height, outH);
  const verticalFirst = verticalFirstRule && height - outH > 0 && height - outH > (width - outW) * 2;
  if (verticalFirst) {
    const shrunk = needVertical ? verticalPass(pixels, width, vertical, 0, outH) : pixels;
    return needHorizontal ? horizontalPass(shrunk, width, outH, 0, outW) : shrunk;
  }
  if (!needHorizontal) return verticalPass(pixels, width, vertical, 0, outH);
  const first = vertical.bounds[0][0];
  const last = vertical.bounds[outH - 1][0] + vertical.bounds[outH - 1][1];
  const narrowed = horizontalPass(pixels, width, last - first, first, outW);
  return needVertical ? verticalPass(narrowed, outW, vertical, first, outH) : narrowed;
}

/**
 * The steps MNIST-style digits and word strips share (keras_seq.export.digit_image.mnist_style and
 * keras_seq.datasets.word_strips.normalise_strip): polarity from the border's median (light paper is
 * inverted so ink is bright), contrast stretch to [0, 1], and the bounding box of the pixels > 0.2.
 * Returns {image, top, bottom, left, right} (the stretched image, the box's first and last row and
 * column, all included), or null when the image is blank (max - min < 1e-3).
 */
export function inkBox(grey, width, height) {
  const image = Float32Array.from(grey);
  const size = width * height;
  const border = [];
  for (let x = 0; x < width; x++) border.push(image[x]);
  for (let x = 0; x < width; x++) border.push(image[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(image[y * width]);
  for (let y = 0; y < height; y++) border.push(image[y * width + width - 1]);
  border.sort((a, b) => a - b);
  const middle = border.length / 2;
  const median = f32(f32(border[middle - 1] + border[middle]) / 2);   // even count: the two middle values
  if (median > 0.5) for (let i = 0; i < size; i++) image[i] = 1 - image[i];   // dark ink on light paper
  let low = Infinity, high = -Infinity;
  for (let i = 0; i < size; i++) {
    const v = image[i];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (high - low < 1e-3) return null;
  const range = f32(high - low);
  // each value stored in the Float32Array is rounded to float32, as numpy's float32 steps are
  for (let i = 0; i < size; i++) image[i] = f32(image[i] - low) / range;
  let top = -1, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1, last = -1;
    for (let x = 0; x < width; x++) {
      if (image[row + x] > INK_THRESHOLD) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (top < 0) top = y;
    bottom = y;
    if (first < left) left = first;
    if (last > right) right = last;
  }
  return { image, top, bottom, left, right };
}

/**
 * The MNIST-style 28x28 input (Float32Array, row-major) of a grey image, or
 * null when the image is blank (no ink to read).
 */
export function mnistStyle(grey, width, height, verticalFirstRule = true) {
  const box = inkBox(grey, width, height);
  if (box === null) return null;
  const { image, top, bottom, left, right } = box;
  const h = bottom - top + 1, w = right - left + 1;
  const crop = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) crop[y * w + x] = Math.trunc(f32(image[(y + top) * width + x + left] * 255));
  }
  const scale = BOX_SIZE / Math.max(h, w);
  const newW = Math.max(1, roundHalfEven(w * scale));
  const newH = Math.max(1, roundHalfEven(h * scale));
  const digit = resizeLanczos(crop, w, h, newW, newH, verticalFirstRule);
  const canvas = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  const top0 = Math.floor((MNIST_SIZE - newH) / 2), left0 = Math.floor((MNIST_SIZE - newW) / 2);
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) canvas[(y + top0) * MNIST_SIZE + x + left0] = f32(digit[y * newW + x] / 255);
  }
  const total = pairwiseSum(canvas, true);
  const rowMass = new Float64Array(canvas.length), colMass = new Float64Array(canvas.length);
  for (let i = 0; i < canvas.length; i++) {
    rowMass[i] = Math.floor(i / MNIST_SIZE) * canvas[i];
    colMass[i] = (i % MNIST_SIZE) * canvas[i];
  }
  const shiftY = roundHalfEven(MNIST_SIZE / 2 - pairwiseSum(rowMass, false) / total);
  const shiftX = roundHalfEven(MNIST_SIZE / 2 - pairwiseSum(colMass, false) / total);
  const shifted = new Float32Array(canvas.length);
  for (let y = 0; y < MNIST_SIZE; y++) {
    const from = y - shiftY;
    if (from < 0 || from >= MNIST_SIZE) continue;
    for (let x = 0; x < MNIST_SIZE; x++) {
      const fromX = x - shiftX;
      if (fromX >= 0 && fromX < MNIST_SIZE) shifted[y * MNIST_SIZE + x] = canvas[from * MNIST_SIZE + fromX];
    }
  }
  return shifted;
}
