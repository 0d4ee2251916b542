import pytest

API = "https://metabase.example.com/api/"


@pytest.fixture
def components(components_module, monkeypatch):
    """components.py with its per-process state reset and no real waiting or TCP probing."""
    components_module._SESSIONS.clear()
    components_module._REACHABLE.clear()
    components_module._REACHABLE.add(("metabase.example.com", 443))
    monkeypatch.setattr(components_module.time, "sleep", lambda seconds: None)
    return components_module


@pytest.fixture
def make_authenticator(components):
    def make(**config):
        config.setdefault("instance_api_url", API)
        return components.SessionTokenAuthenticator(
            config=config, parameters={}, api_base_url=API
        )

    return make
