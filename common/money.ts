// Money as exact decimal strings with ISO 4217 currencies. Minor units (2 for USD, 0 for JPY, 3
// for KWD) come from the platform's ICU data, so attribution credits are whole minor units.
/** The currency's minor-unit digits (2 when ICU does not say). */
export function currencyScale(code: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * A non-negative decimal: at most 14 digits, optionally a point and at most 4 more (no exponent,
 * no sign). In minor units that stays within a bigint, which attribution splits.
 */
export const DECIMAL = /^(?:0|[1-9][0-9]{0,13})(?:\.[0-9]{1,4})?$/;

/** Digits after the decimal point of a DECIMAL string. */
export const decimalPlaces = (value: string): number => (value.includes('.') ? value.length - value.indexOf('.') - 1 : 0);

/** A JSON number or a decimal string as a decimal string (JSON numbers print their shortest exact form). */
export const decimalString = (value: number | string): string => (typeof value === 'number' ? String(value) : value);
