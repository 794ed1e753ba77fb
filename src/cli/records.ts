// The JSON object `ved ocr --json` and `ved caption --json` print for one image, and that
// `ved serve` answers with: both build it here so that the command and the service cannot drift.

/** One text line found on a page, with its box in the image's pixels [x0, y0, x1, y1]. */
export interface TextLine {
  text: string;
  box: [number, number, number, number];
}

/** What a reader gives for one image: its text, and its lines where the reader finds them. */
export interface ImageText {
  text: string;
  lines?: TextLine[];
  /** The generated row up to its end-of-sequence token (whole-image generation only). */
  token_ids?: number[];
}

export interface ImageRecord {
  /** The file as named on the command line or in the upload; null for a bare request body. */
  file: string | null;
  text: string;
  lines?: TextLine[];
  token_ids?: number[];
  /** The image's share of its batch's preprocessing and generation time. */
  seconds: number;
}

/** The record of one image, keys in the documented order: file, text, lines, token_ids, seconds. */
export function imageRecord(file: string | null, result: ImageText, seconds: number): ImageRecord {
  return {
    file,
    text: result.text,
    ...(result.lines !== undefined ? { lines: result.lines.map((l) => ({ text: l.text, box: [...l.box] as TextLine['box'] })) } : {}),
    ...(result.token_ids !== undefined ? { token_ids: [...result.token_ids] } : {}),
    seconds: Number(seconds.toFixed(4)),
  };
}
