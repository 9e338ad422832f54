"""The product documentation's examples, with the Python SDK.

    CLOUD_API_KEY=sk_live_... CLOUD_API_BASE_URL=http://127.0.0.1:8080 python3 examples/seed.py
"""

import datetime
import os

from cloud_api import ApiError, CloudApi


def main() -> None:
    with CloudApi(
        api_key=os.environ["CLOUD_API_KEY"],
        base_url=os.environ.get("CLOUD_API_BASE_URL", "https://api.cloudplatform.example"),
    ) as api:
        # GET /v1/projects: projects visible to the authenticated user.
        for project in api.projects.list().auto_paging_iter():
            print("project", project["id"], project["name"], project["region"])

        # POST /v1/projects: create a project with a name and region.
        project = api.projects.create(name="edge-ingest", region="us-east")
        print("created", project["id"], project["created_at"])

        # POST /v1/keys: issue a new API key for a project (the secret is shown once).
        key = api.keys.create(project_id=project["id"], name="ci")
        print("key", key["id"], key["redacted"])

        # GET /v1/usage: usage metrics for a project over a time range.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        usage = api.usage.retrieve(
            project_id=project["id"],
            start=(now - datetime.timedelta(days=1)).isoformat(),
            end=now.isoformat(),
            granularity="hour",
        )
        print("requests", usage["total_requests"], "complete through", usage["complete_through"])

        # Errors: a stable code and a human-readable message (and the request id for support).
        try:
            api.projects.retrieve("prj_9")
        except ApiError as error:
            print("error", error.status, error.code, error.request_id)

        # Rate limits: the last response's state.
        print("rate limit", api.rate_limit)


if __name__ == "__main__":
    main()
