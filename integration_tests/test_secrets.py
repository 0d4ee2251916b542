"""No secret (password, session token, API key, session id minted by a login) in anything the
connector prints, at debug level, in successful and failing runs alike; but for the config
update a login hands to the platform (a CONTROL message: the user's config with the new session),
which must carry the real values."""

import json

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


def is_control(line):
    try:
        return json.loads(line)["type"] == "CONTROL"
    except (ValueError, KeyError, TypeError):
        return False


def test_no_secret_in_any_output(emulators):
    emulator = emulators("v0.50")
    sessions = RecordingSessions(emulator.auth.sessions)
    emulator.auth.sessions = sessions
    credentials = emulator.credentials
    password = make_config(emulator, "password")
    token = make_config(emulator, "session_token")
    api_key = make_config(emulator, "api_key")
    with_everything = {**password, **token, **api_key}
    logins_before = emulator.logins
    wrong_password = {**password, "password": credentials["analyst_password"]}
    wrong_key = {**api_key, "api_key": credentials["analyst_api_key"][:-3] + "zz="}
    unknown_token = {**token, "session_token": "8e3b7c1a-0000-4000-8000-000000000000"}
    check = lambda config: run_connector("check", config, ca_bundle=emulator.ca_bundle, debug=True)  # noqa: E731
    runs = [
        (None, run_connector("spec", debug=True)),
        (password, check(password)),
        (token, check(token)),
        (wrong_password, check(wrong_password)),
        (wrong_key, check(wrong_key)),
        (with_everything, run_connector("discover", with_everything, ca_bundle=emulator.ca_bundle, debug=True)),
        (api_key, sync(api_key, emulator.ca_bundle, debug=True)),
        (unknown_token, sync(unknown_token, emulator.ca_bundle, streams=["cards"], debug=True)),
        (password, sync(password, emulator.ca_bundle, streams=["cards"], debug=True)),
    ]
    emulator.configure(session_max_requests=3)  # logins again and again: more minted sessions
    renewing = {**password, "session_token": token["session_token"]}
    runs.append((renewing, sync(renewing, emulator.ca_bundle, debug=True)))

    minted = sessions.ever - {token["session_token"]}
    assert len(minted) >= 3, "the runs above should have logged in several times"
    secrets = {credentials["admin_password"], credentials["analyst_password"], credentials["admin_api_key"],
               credentials["analyst_api_key"], token["session_token"], *minted}
    assert any(run.returncode != 0 for _, run in runs) and any(run.records() for _, run in runs)
    handed_over = set()
    for config, run in runs:
        lines = (run.stdout + run.stderr).splitlines()
        control = [line for line in lines if is_control(line)]
        output = "\n".join(line for line in lines if line not in control)
        assert "DEBUG" in output or run.command == "spec", "debug logging was not on"
        leaked = [secret for secret in secrets if secret in output]
        assert leaked == [], f"{run.command} printed a secret"
        # Each config update is the run's config with a session of its own login, unmasked.
        for line in control:
            update = json.loads(line)["control"]["connectorConfig"]["config"]
            assert update["session_token"] in minted and update == {**config, "session_token": update["session_token"]}
            handed_over.add(update["session_token"])
    # the password runs' logins (the checks, the syncs, each renewal) and none other
    assert len(handed_over) >= 4 and emulator.logins - logins_before == len(handed_over)
