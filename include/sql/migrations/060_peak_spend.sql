-- Issue 15: the cycle report splits spend into what was billed at peak prices and the rest.
ALTER TABLE cycle_costs ADD COLUMN IF NOT EXISTS peak_cost_usd numeric(14, 8) NOT NULL DEFAULT 0;
