// CSV for exports a spreadsheet may open. OWASP's CSV-injection rule: a text cell that starts
// with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and Sheets, so
// it gets a leading single quote; then RFC 4180 quoting for commas, quotes and line breaks.
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  // numbers and booleans are ours, never a formula (a negative number stays a number)
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvLine = (cells: unknown[]): string => `${cells.map(csvCell).join(',')}\r\n`;
