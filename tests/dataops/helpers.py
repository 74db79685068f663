"""Shared test data for the dataops tests: a small contract and frames that pass or fail it."""

from __future__ import annotations

import polars as pl

PEOPLE = """\
apiVersion: v3.1.0
kind: DataContract
id: people
version: 1.0.0
status: active
team:
  name: people-team
  members:
    - username: ann
      role: owner
schema:
  - name: people
    properties:
      - name: id
        logicalType: integer
        required: true
        unique: true
      - name: age
        logicalType: integer
        logicalTypeOptions: {minimum: 0, maximum: 120}
      - name: state
        logicalType: string
        quality:
          - name: known_state
            metric: invalidValues
            arguments: {validValues: [NY, CA]}
            mustBe: 0
            severity: warning
      - name: email
        logicalType: string
        logicalTypeOptions: {pattern: "^[^@]+@[^@]+$"}
    quality:
      - name: enough_rows
        metric: rowCount
        mustBeGreaterThan: 2
      - name: adults
        type: sql
        query: SELECT COUNT(*) FROM data WHERE age >= 18
        mustBeGreaterOrEqualTo: 1
"""


def good_people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "age": [5, 40, 67, 18],
            "state": ["NY", "CA", "CA", "NY"],
            "email": ["a@x.org", "b@y.com", "c@z.net", None],
        }
    )
