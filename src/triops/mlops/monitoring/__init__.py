"""Model monitoring: windows, drift statistics, delayed labels, performance and fairness over time."""
