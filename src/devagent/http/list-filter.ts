// The `filter` query parameter of Nomad's list endpoints (/v1/jobs, /v1/allocations, /v1/deployments,
// /v1/evaluations, ...), answered as Nomad 1.6 answers it. Nomad hands the expression to its result paginator
// (nomad/state/paginator/paginator.go), which parses it before reading anything and evaluates it on each stored object
// after the namespace check, stopping at the first object the evaluation fails on. Both failures are 400s in plain
// text (structs.NewErrRPCCodedf in each List RPC):
//   failed to create result paginator: failed to read filter expression: <go-bexpr's parse error>
//   failed to read result page: <go-bexpr's evaluation error>
// An empty filter is no filter. The answer's X-Nomad-Index stays the table's index, filtered or not.

import { badRequest } from "./http-error.js";
import { FilterSyntaxError, parseFilter } from "./filter-expression.js";
import { evaluateFilter, FilterEvaluationError } from "./filter-evaluation.js";

/** A predicate over stored (full) objects for ?filter=, or undefined when the request has none. Throws Nomad's 400s. */
export function listFilter(query: URLSearchParams): ((stored: unknown) => boolean) | undefined {
  const expression = query.get("filter");
  if (!expression) return undefined;
  let ast;
  try {
    ast = parseFilter(expression);
  } catch (err) {
    if (err instanceof FilterSyntaxError) throw badRequest(`failed to create result paginator: failed to read filter expression: ${err.message}`);
    throw err;
  }
  return (stored) => {
    try {
      return evaluateFilter(ast, stored);
    } catch (err) {
      if (err instanceof FilterEvaluationError) throw badRequest(`failed to read result page: ${err.message}`);
      throw err;
    }
  };
}

/** Keeps what passes `filter` (all without one), evaluating in order so the first failing object decides the error. */
export function applyListFilter<T>(items: T[], filter: ((stored: unknown) => boolean) | undefined): T[] {
  return filter ? items.filter((item) => filter(item)) : items;
}
