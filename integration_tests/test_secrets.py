"""No secret (password, session token, API key, session id minted by a login) in anything the
connector prints, at debug level, in successful and failing runs alike."""

from integration_tests.conftest import make_config
from integration_tests.connector import run_connector, sync


class RecordingSessions(dict):
    """The emulator's session table, remembering every session id it ever held."""

    def __init__(self, sessions):
        super().__init__(sessions)
        self.ever = set(sessions)

    def __setitem__(self, session_id, session):
        self.ever.add(session_id)
        super().__setitem__(session_id, session)


def test_no_secret_in_any_output(emulators):
    emulator = emulators("v0.50")
    sessions = RecordingSessions(emulator.auth.sessions)
    emulator.auth.sessions = sessions
    credentials = emulator.credentials
    password = make_config(emulator, "password")
    token = make_config(emulator, "session_token")
    api_key = make_config(emulator, "api_key")
    with_everything = {**password, **token, **api_key}
    runs = [
        run_connector("spec", debug=True),
        run_connector("check", password, ca_bundle=emulator.ca_bundle, debug=True),
        run_connector("check", token, ca_bundle=emulator.ca_bundle, debug=True),
        run_connector("check", {**password, "password": credentials["analyst_password"]},
                      ca_bundle=emulator.ca_bundle, debug=True),
        run_connector("check", {**api_key, "api_key": credentials["analyst_api_key"][:-3] + "zz="},
                      ca_bundle=emulator.ca_bundle, debug=True),
        run_connector("discover", with_everything, ca_bundle=emulator.ca_bundle, debug=True),
        sync(api_key, emulator.ca_bundle, debug=True),
        sync({**token, "session_token": "8e3b7c1a-0000-4000-8000-000000000000"}, emulator.ca_bundle,
             streams=["cards"], debug=True),
    ]
    emulator.configure(session_max_requests=3)  # logins again and again: more minted sessions
    runs.append(sync({**password, "session_token": token["session_token"]}, emulator.ca_bundle, debug=True))

    minted = sessions.ever - {token["session_token"]}
    assert len(minted) >= 3, "the runs above should have logged in several times"
    secrets = {credentials["admin_password"], credentials["analyst_password"], credentials["admin_api_key"],
               credentials["analyst_api_key"], token["session_token"], *minted}
    assert any(run.returncode != 0 for run in runs) and any(run.records() for run in runs)
    for run in runs:
        output = run.stdout + run.stderr
        assert "DEBUG" in output or run.command == "spec", "debug logging was not on"
        leaked = [secret for secret in secrets if secret in output]
        assert leaked == [], f"{run.command} printed a secret"
