/**
 * Symmetric int8 quantisation with one float32 scale per index of the last axis (per output
 * channel of a dense weight [in, out]); a 1-D tensor gets one scale. Used by compact checkpoints
 * and the int8 ONNX export, so both store the same numbers.
 */

/** values (row-major, last axis `last` long) -> int8 codes and `last` scales (value ≈ q · scale). */
export function quantizeInt8(
  values: Float32Array,
  shape: readonly number[],
): { q: Int8Array; scales: Float32Array } {
  const last = shape.length > 1 ? (shape[shape.length - 1] as number) : 1;
  const scales = new Float32Array(last);
  for (let i = 0; i < values.length; i++)
    scales[i % last] = Math.max(scales[i % last] as number, Math.abs(values[i] as number));
  for (let j = 0; j < last; j++) scales[j] = (scales[j] as number) / 127 || 1;
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++)
    q[i] = Math.round((values[i] as number) / (scales[i % last] as number));
  return { q, scales };
}
