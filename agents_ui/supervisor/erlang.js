// Erlang C staffing advice for the day chart, computed in the browser from the interval
// report (arrivals and AHT per interval). Same model as callcenter/staffing.py (M/M/n,
// service level = P(wait <= T)); a test checks both give the same numbers.

/** P(wait <= T) with n agents at `load` Erlangs, where `erlangB` is B(n, load). */
function serviceLevel(n, load, erlangB, ahtS, thresholdS) {
  if (n <= load) return 0;
  const c = (n * erlangB) / (n - load * (1 - erlangB));
  return 1 - c * Math.exp(-((n - load) * thresholdS) / ahtS);
}

/**
 * Fewest agents whose service level within `thresholdS` is at least `targetSl`
 * (Erlang B by its stable recurrence, then Erlang C). 0 when nothing arrives.
 */
export function agentsRequired(arrivalsPerS, ahtS, targetSl, thresholdS, maxAgents = 5000) {
  if (!(arrivalsPerS > 0) || !(ahtS > 0)) return 0;
  const load = arrivalsPerS * ahtS;
  let b = 1;
  for (let n = 1; n <= maxAgents; n += 1) {
    b = (load * b) / (n + load * b);
    if (n > load && serviceLevel(n, load, b, ahtS, thresholdS) >= targetSl) return n;
  }
  return null;
}
