"""Strategy tools: portfolio simulation, scenario and maturity assessment, 30-60-90 roadmap, Wardley maps.

A cross-pillar view layer: pure logic over plain data (``StoreEvidence``, answers, OWM text). It reads no
store itself; the workspace fills :class:`triops.strategy.maturity.StoreEvidence` and persists results.
Import the submodules you need; importing this package imports nothing heavy.
"""
