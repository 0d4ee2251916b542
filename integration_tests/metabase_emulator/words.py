"""Vocabularies for believable content: names, titles, sample tables, warehouse columns, engines
and the kinds of field (generation draws from these; changes.py reuses FIELD_KINDS)."""

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
         "Zoë", "Mateo", "Chloé", "Jürgen", "Aiko", "Ravi", "Fatima", "Sven", "Ines", "Kwame",
         "Priya", "Tomás", "Yuki", "Ana", "Björn", "Leila", "Omar", "Hana", "Diego", "Nora"]
LAST = ["Smith", "García", "Müller", "Nakamura", "Okafor", "Johansson", "Rossi", "Dubois",
        "Kowalski", "Nguyen", "Patel", "O'Brien", "Silva", "Novak", "Haddad", "Lindqvist",
        "Moreau", "Kim", "Schmidt", "Fernández", "Ivanova", "Mensah", "Costa", "Berg"]
METRICS = ["Revenue", "Orders", "Active Users", "Signups", "Churn", "Sessions", "Refunds",
           "Average Order Value", "Conversion Rate", "Support Tickets", "Page Views", "Trials",
           "MRR", "Inventory Levels", "Shipments", "Returns", "Leads", "Invoices", "Pipeline",
           "Retention", "NPS", "Ad Spend", "Cart Abandonment", "Deploys"]
DIMS = ["by Month", "by Week", "by Region", "by Product Category", "by Channel", "per Customer",
        "by Plan", "by Country", "over Time", "by Source", "by Cohort", "by Day of Week",
        "by Sales Rep", "by Vendor", "by Campaign", "by Segment"]
QUALS = ["", "", "", "", " (last 30 days)", " — YTD", " 2023", " 2024", " (draft)", " v2",
         " [EU]", " [US]", " for the Board", " – weekly review", " · Ωmega 测试", " 📈"]
AREAS = ["Marketing", "Sales", "Finance Ops", "Product", "Customer Success", "Engineering",
         "Growth", "Operations", "Data Team", "Executive", "People", "Partnerships", "Support",
         "Logistics", "Legal", "Design", "Security", "Research", "Analytics", "Regional"]
SUBAREAS = ["Dashboards", "Experiments", "Quarterly", "Archive 2022", "KPIs", "Ad hoc",
            "Reports", "Models", "Sandbox", "Certified", "EMEA", "APAC", "Americas", "Weekly"]
DISPLAYS = ["table", "bar", "line", "row", "pie", "scalar", "area", "combo", "pivot", "map",
            "progress", "funnel", "waterfall", "smartscalar"]
SENTENCES = ["Numbers refreshed nightly from the warehouse.",
             "Ask #data-team before changing this question.",
             "Excludes test accounts and internal users.",
             "Used in the monthly business review.",
             "Totals are in USD, converted at the daily rate.",
             "Définitions alignées avec l'équipe finance.",
             "Deprecated: use the certified model instead.",
             "Source of truth for the KPI scorecard."]

# Sample database tables as Metabase ships them (names and types only).
SAMPLE_TABLES = {
    "ORDERS": ["ID:pk", "USER_ID:fk", "PRODUCT_ID:fk", "SUBTOTAL:float", "TAX:float",
               "TOTAL:float", "DISCOUNT:float", "CREATED_AT:datetime", "QUANTITY:int"],
    "PEOPLE": ["ID:pk", "ADDRESS:text", "EMAIL:email", "PASSWORD:text", "NAME:name",
               "CITY:city", "LONGITUDE:lon", "STATE:state", "SOURCE:category",
               "BIRTH_DATE:date", "ZIP:zip", "LATITUDE:lat", "CREATED_AT:datetime"],
    "PRODUCTS": ["ID:pk", "EAN:text", "TITLE:title", "CATEGORY:category", "VENDOR:company",
                 "PRICE:float", "RATING:score", "CREATED_AT:datetime"],
    "REVIEWS": ["ID:pk", "PRODUCT_ID:fk", "REVIEWER:text", "RATING:score", "BODY:longtext",
                "CREATED_AT:datetime"],
    "ACCOUNTS": ["ID:pk", "EMAIL:email", "FIRST_NAME:name", "LAST_NAME:name", "PLAN:category",
                 "SOURCE:category", "SEATS:int", "CREATED_AT:datetime", "TRIAL_ENDS_AT:datetime",
                 "CANCELED_AT:datetime", "TRIAL_CONVERTED:bool", "ACTIVE_SUBSCRIPTION:bool",
                 "LEGACY_PLAN:bool", "LATITUDE:lat", "LONGITUDE:lon", "COUNTRY:country"],
    "ANALYTIC_EVENTS": ["ID:pk", "ACCOUNT_ID:fk", "EVENT:category", "TIMESTAMP:datetime",
                        "PAGE_URL:url", "BUTTON_LABEL:category"],
    "FEEDBACK": ["ID:pk", "ACCOUNT_ID:fk", "EMAIL:email", "DATE_RECEIVED:date",
                 "RATING:int", "RATING_MAPPED:category", "BODY:longtext"],
    "INVOICES": ["ID:pk", "ACCOUNT_ID:fk", "PAYMENT:float", "EXPECTED_INVOICE:bool",
                 "PLAN:category", "DATE_RECEIVED:date"],
}
WAREHOUSE_TABLES = ["orders", "order_items", "customers", "products", "subscriptions",
                    "invoices", "payments", "refunds", "sessions", "page_views", "events",
                    "campaigns", "ad_spend", "leads", "opportunities", "accounts", "tickets",
                    "shipments", "inventory", "suppliers", "employees", "departments",
                    "experiments", "feature_flags", "deploys", "incidents", "nps_responses",
                    "web_vitals", "app_installs", "promotions"]
WAREHOUSE_COLUMNS = ["created_at:datetime", "updated_at:datetime", "deleted_at:datetime",
                     "status:category", "amount:float", "currency:category", "country:country",
                     "region:category", "email:email", "name:name", "title:title",
                     "description:longtext", "quantity:int", "price:float", "discount:float",
                     "is_active:bool", "is_test:bool", "source:category", "channel:category",
                     "plan:category", "score:score", "latitude:lat", "longitude:lon",
                     "url:url", "city:city", "state:state", "zip:zip", "birth_date:date",
                     "company:company", "seats:int", "revenue:float", "cost:float",
                     "margin:float", "duration_ms:int", "referrer:url", "utm_campaign:category",
                     "utm_medium:category", "device:category", "browser:category",
                     "os_version:text", "notes:longtext", "external_id:text", "sku:text",
                     "weight_kg:float", "rating:score", "tax:float", "shipping_cost:float",
                     "first_seen_at:datetime", "last_seen_at:datetime", "signup_date:date",
                     "account_manager:name", "industry:category", "employee_count:int",
                     "lifetime_value:float", "phone:text", "postal_code:zip", "timezone:category",
                     "language:category", "is_churned:bool", "renewal_date:date"]
ENGINES = [("postgres", "Analytics Warehouse"), ("snowflake", "Finance Warehouse"),
           ("mysql", "Production Replica"), ("bigquery-cloud-sdk", "Events Lake"),
           ("redshift", "Marketing Mart"), ("sqlserver", "ERP"), ("mongo", "App Documents"),
           ("databricks", "Lakehouse")]

# kind -> (base_type, semantic_type, database_type)
FIELD_KINDS = {
    "pk": ("type/BigInteger", "type/PK", "BIGINT"),
    "fk": ("type/Integer", "type/FK", "INTEGER"),
    "int": ("type/Integer", "type/Quantity", "INTEGER"),
    "float": ("type/Float", None, "DOUBLE PRECISION"),
    "score": ("type/Float", "type/Score", "DOUBLE PRECISION"),
    "datetime": ("type/DateTime", "type/CreationTimestamp", "TIMESTAMP"),
    "date": ("type/Date", None, "DATE"),
    "text": ("type/Text", None, "CHARACTER VARYING"),
    "longtext": ("type/Text", "type/Description", "TEXT"),
    "email": ("type/Text", "type/Email", "CHARACTER VARYING"),
    "name": ("type/Text", "type/Name", "CHARACTER VARYING"),
    "title": ("type/Text", "type/Title", "CHARACTER VARYING"),
    "city": ("type/Text", "type/City", "CHARACTER VARYING"),
    "state": ("type/Text", "type/State", "CHARACTER"),
    "country": ("type/Text", "type/Country", "CHARACTER VARYING"),
    "zip": ("type/Text", "type/ZipCode", "CHARACTER"),
    "company": ("type/Text", "type/Company", "CHARACTER VARYING"),
    "category": ("type/Text", "type/Category", "CHARACTER VARYING"),
    "url": ("type/Text", "type/URL", "CHARACTER VARYING"),
    "lat": ("type/Float", "type/Latitude", "DOUBLE PRECISION"),
    "lon": ("type/Float", "type/Longitude", "DOUBLE PRECISION"),
    "bool": ("type/Boolean", "type/Category", "BOOLEAN"),
}

