"""Runs inside the original Logist's own virtual environment (never imported by our tests).

Usage: python -I original_driver.py COMMAND JOBS_DIR RESULT_FILE [ARG]. Each command drives the
original's own code (its JobDirectoryManager, transition_state, update_job_manifest,
handle_execution_error, CLI, loaders and JobRecoveryManager) and writes a JSON result to
RESULT_FILE (the original prints debug lines on stdout, so stdout is not the channel).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback

from click.testing import CliRunner
from logist.core.job_directory import JobDirectoryManager
from logist.job_processor import handle_execution_error, save_latest_outcome
from logist.job_state import load_job_manifest, transition_state, update_job_manifest

from logist import cli
from logist.core.recovery import JobRecoveryManager

# How the original's own state machine reaches each state from a new DRAFT job.
LIFECYCLE = ["ACTIVATED", "STEP_START", "PROVISION_COMPLETE", "EXECUTE_COMPLETE"]
PATHS = {
    "DRAFT": [],
    "PENDING": LIFECYCLE[:1],
    "PROVISIONING": LIFECYCLE[:2],
    "EXECUTING": LIFECYCLE[:3],
    "RECOVERING": [*LIFECYCLE[:3], "RECOVER_START"],
    "HARVESTING": LIFECYCLE,
    "SUCCESS": [*LIFECYCLE, "HARVEST_SUCCESS"],
    "APPROVAL_REQUIRED": [*LIFECYCLE, "HARVEST_APPROVAL"],
    "INTERVENTION_REQUIRED": [*LIFECYCLE, "HARVEST_INTERVENTION"],
    "SUSPENDED": ["ACTIVATED", "SUSPEND"],
    "CANCELED": ["ACTIVATED", "CANCEL"],
}
# Deprecated states no action leads to: set as its CLI's `job config --status` sets them.
DEPRECATED = ["RUNNING", "REVIEWING", "REVIEW_REQUIRED", "PAUSED", "FAILED", "ATTACHED", "DETACHED"]
# The action the original takes next from each state (what "carry on" means for it).
NEXT_ACTION = {
    "DRAFT": "ACTIVATED",
    "PENDING": "STEP_START",
    "PROVISIONING": "PROVISION_COMPLETE",
    "EXECUTING": "EXECUTE_COMPLETE",
    "RECOVERING": "RECOVER_COMPLETE",
    "HARVESTING": "HARVEST_SUCCESS",
    "APPROVAL_REQUIRED": "APPROVE",
    "INTERVENTION_REQUIRED": "RESUBMIT",
    "SUSPENDED": "RESUME",
    "RUNNING": "COMPLETED",
    "REVIEWING": "COMPLETED",
    "REVIEW_REQUIRED": "COMPLETED",
    "PAUSED": "CANCEL",
    "FAILED": "CANCEL",
    "ATTACHED": "SUSPEND",
}


def step(job_dir: str, action: str) -> str:
    status = load_job_manifest(job_dir)["status"]
    new = transition_state(status, action)
    update_job_manifest(
        job_dir, new_status=new, history_entry={"event": "STATE_TRANSITION", "action": action}
    )
    return new


def make_core(jobs_dir: str) -> dict:
    """Jobs made by the original's core library, one per state, index in its core schema."""
    manager = JobDirectoryManager(jobs_dir)
    manager.ensure_base_structure()
    made = {}
    for state in [*PATHS, *DEPRECATED]:
        job_id = f"core-{state.lower().replace('_', '-')}"
        job_dir = manager.create_job_directory(job_id, {"description": f"core job in {state}"})
        for action in PATHS.get(state, []):
            step(job_dir, action)
        if state in DEPRECATED:
            update_job_manifest(job_dir, new_status=state)
        made[job_id] = state
    # an execution error as its job processor records it, and its latest outcome file
    job_dir = manager.create_job_directory("core-error", {"description": "failed step"})
    for action in PATHS["EXECUTING"]:
        step(job_dir, action)
    handle_execution_error(job_dir, "core-error", TimeoutError("agent timed out"), "partial")
    save_latest_outcome(job_dir, {"action": "COMPLETED", "summary_for_supervisor": "done"})
    made["core-error"] = load_job_manifest(job_dir)["status"]
    # a finished job cleaned up by its own manager: archived in the index and backups/*.zip
    job_dir = manager.create_job_directory("core-archived", {"description": "cleaned up"})
    for action in PATHS["SUCCESS"]:
        step(job_dir, action)
    manager.cleanup_job_directory("core-archived")
    return made


def make_cli(jobs_dir: str, examples: str) -> dict:
    """Jobs made through the original's CLI (CLI index schema), and its example job spec."""
    runner = CliRunner()
    base = ["--jobs-dir", jobs_dir, "job"]
    os.makedirs(jobs_dir, exist_ok=True)
    made = {}
    for name, status in [
        ("cli-draft", None),
        ("cli-pending", "PENDING"),
        ("cli-running", "RUNNING"),
        ("cli-suspended", "SUSPENDED"),
        ("cli-canceled", "CANCELED"),
    ]:
        args = [
            *base,
            "create",
            "--name",
            name,
            "--prompt",
            "do it",
            "--runner",
            "podman",
            "--agent",
            "aider-chat",
        ]
        _ok(runner.invoke(cli.main, args))
        if status:
            _ok(runner.invoke(cli.main, [*base, "config", name, "--status", status]))
        made[name] = load_job_manifest(os.path.join(jobs_dir, name))["status"]
    # `job create` on a directory holding a sample-job.json indexes the spec's job_id
    target = os.path.join(jobs_dir, "test_poststep_job")
    shutil.copytree(os.path.join(examples, "test_poststep_job"), target)
    cwd = os.getcwd()
    os.chdir(jobs_dir)
    try:
        _ok(runner.invoke(cli.main, [*base, "create", "test_poststep_job"]))
    finally:
        os.chdir(cwd)
    made["sample-implementation"] = load_job_manifest(target)["status"]
    for example in ("test-job", "test_error_job_sim"):  # its example manifests, indexed by hand
        shutil.copytree(os.path.join(examples, example), os.path.join(jobs_dir, example))
        made[example] = load_job_manifest(os.path.join(jobs_dir, example))["status"]
    index_path = os.path.join(jobs_dir, "jobs_index.json")
    with open(index_path) as stream:
        index = json.load(stream)
    for example in ("test-job", "test_error_job_sim"):
        index["jobs"][example] = os.path.join(jobs_dir, example)
    with open(index_path, "w") as stream:
        json.dump(index, stream, indent=2)
    return made


def _ok(result) -> None:
    if result.exit_code != 0:
        raise RuntimeError(f"original CLI failed ({result.exit_code}): {result.output[-800:]}")


def load_all(jobs_dir: str) -> dict:
    """What the original sees: its index-only listing, and every indexed manifest loaded."""
    try:
        listed = [[j["job_id"], j["status"]] for j in JobDirectoryManager(jobs_dir).list_jobs()]
    except Exception as exc:  # its list_jobs cannot read the very old index schema
        listed = f"failed: {type(exc).__name__}: {exc}"
    with open(os.path.join(jobs_dir, "jobs_index.json")) as stream:
        index = json.load(stream)
    loaded = {}
    for job_id, value in index["jobs"].items():
        directory = value["directory"] if isinstance(value, dict) else value
        loaded[job_id] = load_job_manifest(directory)["status"]
    return {"listed": listed, "loaded": loaded}


def carry_on(jobs_dir: str) -> dict:
    """Take each job's next action with the original's own state machine, in place."""
    done = {}
    with open(os.path.join(jobs_dir, "jobs_index.json")) as stream:
        index = json.load(stream)
    for job_id, value in index["jobs"].items():
        directory = value["directory"] if isinstance(value, dict) else value
        status = load_job_manifest(directory)["status"]
        action = NEXT_ACTION.get(status)
        if action is None:
            done[job_id] = [status, None, None]
            continue
        try:
            done[job_id] = [status, action, step(directory, action)]
        except Exception as exc:  # the refusal is the result
            done[job_id] = [status, action, f"refused: {exc}"]
    return done


def actions(jobs_dir: str, statuses: str) -> dict:
    """Which of the original's actions its transition_state accepts from each status."""
    return {status: _accepted(status) for status in statuses.split(",")}


def _accepted(status: str) -> dict:
    names = [
        "ACTIVATED",
        "STEP_START",
        "RESUBMIT",
        "RESUME",
        "APPROVE",
        "REJECT",
        "SUSPEND",
        "CANCEL",
        "COMPLETED",
        "STUCK",
        "RECOVER_COMPLETE",
        "PROVISION_COMPLETE",
    ]
    accepted = {}
    for name in names:
        try:
            accepted[name] = transition_state(status, name)
        except Exception:
            continue
    return accepted


def set_status(jobs_dir: str, job_id_and_status: str) -> dict:
    job_id, status = job_id_and_status.split("=", 1)
    update_job_manifest(os.path.join(jobs_dir, job_id), new_status=status)
    return {"ok": True}


def original_recovery(jobs_dir: str) -> dict:
    """The original's own JobRecoveryManager: what it calls crashed, and what it recovers to."""
    manager = JobRecoveryManager(jobs_dir)
    crashed = [job["job_id"] for job in manager.detect_crashed_jobs()]
    results = {}
    for job_id in crashed:
        try:
            results[job_id] = manager.recover_crashed_job(job_id)["recovered"]
        except Exception as exc:
            results[job_id] = f"failed: {exc}"
    after = {}
    for job_id in crashed:
        try:
            after[job_id] = load_job_manifest(os.path.join(jobs_dir, job_id))["status"]
        except Exception as exc:
            after[job_id] = f"unreadable: {exc}"
    return {"crashed": crashed, "recovered": results, "after": after}


def restore_backup(jobs_dir: str, job_id: str) -> str:
    """The original's own restore of a corrupt manifest: the name of the backup it used."""
    from logist.recovery import recover_from_backup

    return os.path.basename(recover_from_backup(os.path.join(jobs_dir, job_id)))


COMMANDS = {
    "restore_backup": restore_backup,
    "make_core": lambda d, a: make_core(d),
    "make_cli": lambda d, a: make_cli(d, a),
    "load_all": lambda d, a: load_all(d),
    "carry_on": lambda d, a: carry_on(d),
    "actions": actions,
    "set_status": set_status,
    "original_recovery": lambda d, a: original_recovery(d),
}


def main() -> None:
    command, jobs_dir, result_file = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    try:
        result = {"ok": COMMANDS[command](jobs_dir, arg)}
    except Exception:
        result = {"error": traceback.format_exc()}
    with open(result_file, "w") as stream:
        json.dump(result, stream)


if __name__ == "__main__":
    main()
