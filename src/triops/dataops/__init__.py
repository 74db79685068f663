"""DataOps pillar: ODCS data contracts, one-pass checks, profiles, quality scores, diffs, the contract gate
and OpenLineage events. Importing this package imports nothing heavy; import the submodules you need."""
