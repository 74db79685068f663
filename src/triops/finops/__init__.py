"""FinOps: price catalog, cost attribution, budgets with hard stops, forecasts, recommendations and
FOCUS 1.2 export/import. Pure rules live in the modules; ``service`` binds them to the store."""
