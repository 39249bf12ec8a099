// Series styles that stay apart for up to 20 series: 20 colours of high mutual contrast (after
// Kelly's list of maximally different colours, the near-white and black left out and the darkest
// first so the first few read well on white) and 5 dash patterns. A series gets colour i and dash
// i mod 5, so any two of the first 20 differ in colour, and neighbours also differ in dash (which
// survives a grey-scale print and colour-blind eyes).
export const SERIES_COLOURS: readonly string[] = [
  '#0067a5', // blue
  '#f38400', // orange
  '#008856', // green
  '#be0032', // red
  '#875692', // purple
  '#882d17', // reddish brown
  '#e68fac', // pink
  '#848482', // grey
  '#8db600', // yellow green
  '#a1caf1', // light blue
  '#604e97', // violet
  '#f99379', // salmon
  '#2b3d26', // dark olive
  '#f6a600', // amber
  '#b3446c', // plum
  '#c2b280', // buff
  '#654522', // dark brown
  '#e25822', // vermilion
  '#dcd300', // lime yellow
  '#36454f', // charcoal
];

/** Stroke dash arrays (on, off, ...); `[1, 0]` is solid. */
export const SERIES_DASHES: readonly (readonly number[])[] = [
  [1, 0],
  [7, 3],
  [2, 2],
  [9, 3, 2, 3],
  [14, 4],
];

/** The most series a chart keeps apart; builders refuse more (callers choose which to show). */
export const MAX_SERIES = SERIES_COLOURS.length;

/** Bars of one series, and the "no value" mark. */
export const BAR_COLOUR = '#0067a5';
export const MISSING_COLOUR = '#8a8a8a';
