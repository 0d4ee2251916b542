# Loads components.py the way the connector runtime does (the `components_module` fixture).
pytest_plugins = ["airbyte_cdk.test.utils.manifest_only_fixtures"]
