/**
 * Ziggurat tables for the standard normal (Marsaglia & Tsang 2000, "The Ziggurat Method for
 * Generating Random Variables", J. Stat. Softw. 5(8)), 128 layers. One copy: the JS sampler
 * reads them and the native sampler is handed them, so both draw the same numbers.
 */
export const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
export const KN = new Int32Array(128);
export const WN = new Float64Array(128);
export const FN = new Float64Array(128);
{
  const m1 = 2147483648.0;
  let dn = ZIG_R;
  let tn = dn;
  const q = ZIG_V / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1.0;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZIG_V / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
}
