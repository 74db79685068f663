"""The FOCUS 1.2 column table: names, feature levels, data types, nullability and allowed values.

Source: FinOps Open Cost and Usage Specification (FOCUS) 1.2, https://focus.finops.org/focus-specification/v1-2/
and its repository https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec (specification/columns/*.md,
each column's "Content constraints" table: Feature level, Allows nulls, Data type, Value format).
Custom columns must be prefixed ``x_`` and listed after the FOCUS columns.
"""

from __future__ import annotations

from dataclasses import dataclass

FOCUS_VERSION = "1.2"
SPEC_URL = "https://focus.finops.org/focus-specification/v1-2/"
CUSTOM_PREFIX = "x_"


@dataclass(frozen=True, slots=True)
class FocusColumn:
    name: str
    level: str  # Mandatory | Recommended | Conditional
    data_type: str  # String | Decimal | DateTime | JSON
    nullable: bool
    allowed: frozenset[str] | None = None


SERVICE_CATEGORIES = frozenset(
    {
        "AI and Machine Learning",
        "Analytics",
        "Business Applications",
        "Compute",
        "Databases",
        "Developer Tools",
        "Multicloud",
        "Identity",
        "Integration",
        "Internet of Things",
        "Management and Governance",
        "Media",
        "Migration",
        "Mobile",
        "Networking",
        "Security",
        "Storage",
        "Web",
        "Other",
    }
)

SERVICE_SUBCATEGORIES: dict[str, frozenset[str]] = {
    "AI and Machine Learning": frozenset(
        {
            "AI Platforms",
            "Bots",
            "Generative AI",
            "Machine Learning",
            "Natural Language Processing",
            "Other (AI and Machine Learning)",
        }
    ),
    "Analytics": frozenset(
        {
            "Analytics Platforms",
            "Business Intelligence",
            "Data Processing",
            "Search",
            "Streaming Analytics",
            "Other (Analytics)",
        }
    ),
    "Business Applications": frozenset(
        {
            "Productivity and Collaboration",
            "Other (Business Applications)",
        }
    ),
    "Compute": frozenset(
        {
            "Containers",
            "End User Computing",
            "Quantum Compute",
            "Serverless Compute",
            "Virtual Machines",
            "Other (Compute)",
        }
    ),
    "Databases": frozenset(
        {
            "Caching",
            "Data Warehouses",
            "Ledger Databases",
            "NoSQL Databases",
            "Relational Databases",
            "Time Series Databases",
            "Other (Databases)",
        }
    ),
    "Developer Tools": frozenset(
        {
            "Developer Platforms",
            "Continuous Integration and Deployment",
            "Development Environments",
            "Source Code Management",
            "Quality Assurance",
            "Other (Developer Tools)",
        }
    ),
    "Identity": frozenset(
        {
            "Identity and Access Management",
            "Other (Identity)",
        }
    ),
    "Integration": frozenset(
        {
            "API Management",
            "Messaging",
            "Workflow Orchestration",
            "Other (Integration)",
        }
    ),
    "Internet of Things": frozenset(
        {
            "IoT Analytics",
            "IoT Platforms",
            "Other (Internet of Things)",
        }
    ),
    "Management and Governance": frozenset(
        {
            "Architecture",
            "Compliance",
            "Cost Management",
            "Data Governance",
            "Disaster Recovery",
            "Endpoint Management",
            "Observability",
            "Support",
            "Other (Management and Governance)",
        }
    ),
    "Media": frozenset(
        {
            "Content Creation",
            "Gaming",
            "Media Streaming",
            "Mixed Reality",
            "Other (Media)",
        }
    ),
    "Migration": frozenset(
        {
            "Data Migration",
            "Resource Migration",
            "Other (Migration)",
        }
    ),
    "Mobile": frozenset(
        {
            "Other (Mobile)",
        }
    ),
    "Multicloud": frozenset(
        {
            "Multicloud Integration",
            "Other (Multicloud)",
        }
    ),
    "Networking": frozenset(
        {
            "Application Networking",
            "Content Delivery",
            "Network Connectivity",
            "Network Infrastructure",
            "Network Routing",
            "Network Security",
            "Other (Networking)",
        }
    ),
    "Security": frozenset(
        {
            "Secret Management",
            "Security Posture Management",
            "Threat Detection and Response",
            "Other (Security)",
        }
    ),
    "Storage": frozenset(
        {
            "Backup Storage",
            "Block Storage",
            "File Storage",
            "Object Storage",
            "Storage Platforms",
            "Other (Storage)",
        }
    ),
    "Web": frozenset(
        {
            "Application Platforms",
            "Other (Web)",
        }
    ),
    "Other": frozenset(
        {
            "Other (Other)",
        }
    ),
}

M, R, C = "Mandatory", "Recommended", "Conditional"
S, D, T, J = "String", "Decimal", "DateTime", "JSON"

COLUMNS: tuple[FocusColumn, ...] = (
    FocusColumn("AvailabilityZone", R, S, True),
    FocusColumn("BilledCost", M, D, False),
    FocusColumn("BillingAccountId", M, S, False),
    FocusColumn("BillingAccountName", M, S, True),
    FocusColumn("BillingAccountType", C, S, False),
    FocusColumn("BillingCurrency", M, S, False),
    FocusColumn("BillingPeriodEnd", M, T, False),
    FocusColumn("BillingPeriodStart", M, T, False),
    FocusColumn("CapacityReservationId", C, S, True),
    FocusColumn("CapacityReservationStatus", C, S, True, frozenset({"Used", "Unused"})),
    FocusColumn(
        "ChargeCategory", M, S, False, frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"})
    ),
    FocusColumn("ChargeClass", M, S, True, frozenset({"Correction"})),
    FocusColumn("ChargeDescription", M, S, True),
    FocusColumn("ChargeFrequency", R, S, False, frozenset({"One-Time", "Recurring", "Usage-Based"})),
    FocusColumn("ChargePeriodEnd", M, T, False),
    FocusColumn("ChargePeriodStart", M, T, False),
    FocusColumn("CommitmentDiscountCategory", C, S, True, frozenset({"Spend", "Usage"})),
    FocusColumn("CommitmentDiscountId", C, S, True),
    FocusColumn("CommitmentDiscountName", C, S, True),
    FocusColumn("CommitmentDiscountQuantity", C, D, True),
    FocusColumn("CommitmentDiscountStatus", C, S, True, frozenset({"Used", "Unused"})),
    FocusColumn("CommitmentDiscountType", C, S, True),
    FocusColumn("CommitmentDiscountUnit", C, S, True),
    FocusColumn("ConsumedQuantity", C, D, True),
    FocusColumn("ConsumedUnit", C, S, True),
    FocusColumn("ContractedCost", M, D, False),
    FocusColumn("ContractedUnitPrice", C, D, True),
    FocusColumn("EffectiveCost", M, D, False),
    FocusColumn("InvoiceId", R, S, True),
    FocusColumn("InvoiceIssuerName", M, S, False),
    FocusColumn("ListCost", M, D, False),
    FocusColumn("ListUnitPrice", C, D, True),
    FocusColumn("PricingCategory", C, S, True, frozenset({"Standard", "Dynamic", "Committed", "Other"})),
    FocusColumn("PricingCurrency", C, S, True),
    FocusColumn("PricingCurrencyContractedUnitPrice", C, D, True),
    FocusColumn("PricingCurrencyEffectiveCost", C, D, True),
    FocusColumn("PricingCurrencyListUnitPrice", C, D, True),
    FocusColumn("PricingQuantity", M, D, True),
    FocusColumn("PricingUnit", M, S, True),
    FocusColumn("ProviderName", M, S, False),
    FocusColumn("PublisherName", M, S, False),
    FocusColumn("RegionId", C, S, True),
    FocusColumn("RegionName", C, S, True),
    FocusColumn("ResourceId", C, S, True),
    FocusColumn("ResourceName", C, S, True),
    FocusColumn("ResourceType", C, S, True),
    FocusColumn("ServiceCategory", M, S, False, SERVICE_CATEGORIES),
    FocusColumn("ServiceName", M, S, False),
    FocusColumn("ServiceSubcategory", R, S, False, frozenset().union(*SERVICE_SUBCATEGORIES.values())),
    FocusColumn("SkuId", C, S, True),
    FocusColumn("SkuMeter", C, S, True),
    FocusColumn("SkuPriceDetails", C, J, True),
    FocusColumn("SkuPriceId", C, S, True),
    FocusColumn("SubAccountId", C, S, True),
    FocusColumn("SubAccountName", C, S, True),
    FocusColumn("SubAccountType", C, S, True),
    FocusColumn("Tags", C, J, True),
)

BY_NAME: dict[str, FocusColumn] = {c.name: c for c in COLUMNS}
MANDATORY: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.level == M)

#: each ServiceSubcategory's one parent ServiceCategory
SUBCATEGORY_PARENT: dict[str, str] = {
    sub: category for category, subs in SERVICE_SUBCATEGORIES.items() for sub in subs
}
