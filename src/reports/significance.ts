/** Standard normal CDF via the complementary error function (Numerical Recipes erfc, |error| < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

export type ProportionTest = { difference: number; z: number; p_value: number; significant: boolean } | null;

/**
 * Two-sided two-proportion z-test (pooled) of k2/n2 against k1/n1. `difference` is in
 * percentage points; significant means p < 0.05. Null when either side has no trials or
 * the pooled proportion is 0 or 1 (nothing to tell apart).
 */
export function twoProportionTest(k1: number, n1: number, k2: number, n2: number): ProportionTest {
  if (n1 === 0 || n2 === 0) return null;
  const pooled = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (k2 / n2 - k1 / n1) / se;
  const p = 2 * (1 - normalCdf(Math.abs(z)));
  return {
    difference: Math.round((k2 / n2 - k1 / n1) * 10_000) / 100,
    z: Math.round(z * 1000) / 1000,
    p_value: Math.round(p * 10_000) / 10_000,
    significant: p < 0.05,
  };
}
