"""What DeepSeek cost: per-cycle costs, the weekly health report, alerts, usage-export reconciliation."""
