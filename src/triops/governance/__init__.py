"""Governance: roles and permissions (``rbac``, ``roles``), policies as code at gates (``policies``,
``facts``, ``gates``), approvals with separation of duties (``approvals``), the tamper-evident audit log
(``audit``), the AI use-case inventory (``inventory``) and framework evidence (``frameworks``,
``compliance``). Nothing is imported here, so ``import triops`` stays fast."""
