package analytics_test

import (
	"regexp"
	"strings"

	"github.com/tradeexec/tradeexec/internal/store"
)

// The independent check (SC-010, SC-023): hand-written SQL over the raw
// billing_events and users, sharing no code with the Go computation. The
// rate table is written out again here on purpose.

var jsonField = regexp.MustCompile(`J\((\w+), '\$\.(\w+)'\)`)

func dialectSQL(d store.Dialect, q string) string {
	if d == store.Postgres {
		q = jsonField.ReplaceAllString(q, "(NULLIF($1, '')::jsonb->>'$2')")
		return strings.NewReplacer(
			"PRORATION", "COALESCE((payload::jsonb->>'proration')::boolean, false)",
			"CENTS", "(payload::jsonb->>'amountCents')::numeric",
			"SIGNUP", "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')",
			"PREVM(", "to_char(to_date(", ")PREV", "||'-01', 'YYYY-MM-DD') - interval '1 month', 'YYYY-MM')",
			"NEXTM(", "to_char(to_date(", ")NEXT", "||'-01', 'YYYY-MM-DD') + interval '1 month', 'YYYY-MM')",
		).Replace(q)
	}
	q = jsonField.ReplaceAllString(q, "json_extract(NULLIF($1, ''), '$$.$2')")
	return strings.NewReplacer(
		"PRORATION", "COALESCE(json_extract(payload, '$.proration'), 0) = 1",
		"CENTS", "json_extract(payload, '$.amountCents')",
		"SIGNUP", "substr(created_at, 1, 7)",
		"PREVM(", "strftime('%Y-%m', ", ")PREV", "||'-01', '-1 month')",
		"NEXTM(", "strftime('%Y-%m', ", ")NEXT", "||'-01', '+1 month')",
	).Replace(q)
}

// userMonthCTE: each trader's MRR per month (recurring paid invoices, USD
// rounded per invoice, minus their refunds, floored at zero per invoice).
const userMonthCTE = `
WITH rate(cur, r) AS (
  SELECT 'USD', 1.00 UNION ALL SELECT 'EUR', 1.08 UNION ALL SELECT 'GBP', 1.27 UNION ALL SELECT 'CAD', 0.73
), inv AS (
  SELECT provider, J(payload, '$.invoiceId') AS invoice_id,
         COALESCE(NULLIF(J(payload, '$.userId'), ''), J(outcome, '$.userId')) AS user_id,
         substr(COALESCE(J(payload, '$.currentPeriodStart'), J(payload, '$.created')), 1, 7) AS month,
         upper(J(payload, '$.currency')) AS cur, CENTS AS cents, PRORATION AS prorated
  FROM billing_events WHERE type = 'invoice.paid' AND processed_at IS NOT NULL
), ref AS (
  SELECT provider, J(payload, '$.invoiceId') AS invoice_id, CENTS AS cents
  FROM billing_events WHERE type = 'charge.refunded' AND processed_at IS NOT NULL
), net AS (
  SELECT inv.user_id, inv.month,
         ROUND(inv.cents * rate.r / 100, 2) - COALESCE(SUM(ROUND(ref.cents * rate.r / 100, 2)), 0) AS amount
  FROM inv JOIN rate ON rate.cur = inv.cur
  LEFT JOIN ref ON ref.provider = inv.provider AND ref.invoice_id = inv.invoice_id
  WHERE NOT inv.prorated AND inv.month <= ? AND inv.user_id IS NOT NULL AND inv.user_id <> ''
  GROUP BY inv.provider, inv.invoice_id, inv.user_id, inv.month, inv.cents, rate.r
), um AS (
  SELECT user_id, month, SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS mrr
  FROM net GROUP BY user_id, month HAVING SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) > 0
)`

const mrrByMonthSQL = userMonthCTE + `
SELECT month, SUM(mrr) AS mrr, COUNT(*) AS paying FROM um GROUP BY month ORDER BY month`

// movementsSQL: per month, new / reactivated / expansion / contraction /
// churned, each by its own query over um.
const movementsSQL = userMonthCTE + `
, cur AS (
  SELECT u.month, u.user_id, u.mrr, p.mrr AS prev,
         EXISTS (SELECT 1 FROM um e WHERE e.user_id = u.user_id AND e.month < u.month) AS earlier
  FROM um u LEFT JOIN um p ON p.user_id = u.user_id AND p.month = PREVM(u.month)PREV
)
SELECT month, kind, SUM(amount) AS amount FROM (
  SELECT month, 'new' AS kind, mrr AS amount FROM cur WHERE prev IS NULL AND NOT earlier
  UNION ALL SELECT month, 'reactivated', mrr FROM cur WHERE prev IS NULL AND earlier
  UNION ALL SELECT month, 'expansion', mrr - prev FROM cur WHERE prev IS NOT NULL AND mrr > prev
  UNION ALL SELECT month, 'contraction', prev - mrr FROM cur WHERE prev IS NOT NULL AND mrr < prev
  UNION ALL SELECT NEXTM(p.month)NEXT, 'churned', p.mrr FROM um p
    WHERE NEXTM(p.month)NEXT <= ? AND NOT EXISTS (SELECT 1 FROM um n WHERE n.user_id = p.user_id AND n.month = NEXTM(p.month)NEXT)
) x GROUP BY month, kind ORDER BY month, kind`

// cohortSQL: sign-up cohort size and the traders of it paying in each
// later month.
const cohortSQL = userMonthCTE + `
, c AS (SELECT id, SIGNUP AS cohort FROM users WHERE role = 'trader')
SELECT c.cohort, um.month, COUNT(DISTINCT um.user_id) AS retained,
       (SELECT COUNT(*) FROM c c2 WHERE c2.cohort = c.cohort) AS size
FROM c JOIN um ON um.user_id = c.id AND um.month >= c.cohort
GROUP BY c.cohort, um.month ORDER BY c.cohort, um.month`
