-- A cycle's answered requests with the decision applied from each, and the answers refused for each.
SELECT r.request_id, r.company_nit, d.decision, d.decided_by,
       coalesce((SELECT json_agg(json_build_object('decision', x.decision, 'decided_by', x.decided_by))
                 FROM approval_decisions x WHERE x.request_id = r.request_id AND x.status = 'refused'),
                '[]'::json) AS refused
FROM approval_requests r
JOIN approval_decisions d ON d.request_id = r.request_id AND d.status = 'applied'
WHERE r.cycle_id = %(cycle_id)s
