"""The generation order: each step fills the model from (seed, Scale), one kind after another.

Every kind draws from its own random stream (draw.py), so what a step makes depends only on the
seed, the Scale and the steps before it. A new kind of object adds its step here, after the
kinds it refers to (as alerts.py's does, after the pulses). The newer kinds come last and only
where the instance's version has them: they add collections, tables and links into cards, which
must change nothing for older versions.
"""

from __future__ import annotations

from . import alerts, documents, generate_content as content, generate_instance as instance, \
    generate_relations as relations, measures, notifications, permissions, querylog, transforms

STEPS = (
    instance.make_users,
    instance.make_databases,
    instance.make_collections,
    content.make_snippets,
    relations.make_segments,  # before the cards, whose queries filter on them
    content.make_cards,
    content.make_dashboards,
    relations.make_memberships,
    relations.hide_some_tables,
    relations.make_timelines,
    relations.make_pulses,
    alerts.make_alerts,
    notifications.make_notifications,  # the alerts as 0.54+ stores them
    # the newer kinds, only on the versions that have them (Model.has); they add tables last
    instance.make_library,
    documents.make_documents,
    measures.make_measures,
    measures.link_cards,  # after the cards and the measures
    transforms.make_transforms,
    permissions.make_permissions,  # the sandbox, the revisions
    querylog.make_query_log,  # after the permissions: is_sandboxed
)


def populate(model) -> None:
    """Generate the whole instance into an empty model."""
    for step in STEPS:
        step(model)
