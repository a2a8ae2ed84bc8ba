"""Flask CLI commands: seed-demo, member-samples, deploy, create-admin."""
from __future__ import annotations

import click
from flask import Flask

from engine import accounts, demo
from engine.errors import InvalidInput
from web.context import runtime
from web.extensions import db


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the org tree and demo accounts (idempotent), deploy processes, print the logins."""
        report = demo.seed(db.session)
        result = runtime().deploy(db.session)
        db.session.commit()
        click.echo(f"Đơn vị mới: {report.units_added}; tài khoản mới: {', '.join(report.users_added) or '-'}")
        for problem in result.problems:
            click.echo(f"  ! {problem}")
        click.echo(f"Quy trình: {', '.join(sorted(result.definitions))}")
        click.echo(f"Tài khoản demo (mật khẩu {demo.DEMO_PASSWORD}):")
        for username, full_name, is_admin, roles in demo.DEMO_USERS:
            what = "quản trị" if is_admin else ", ".join(f"{r}@{c}" for r, c in roles)
            click.echo(f"  {username:12} {full_name:22} {what}")

    @app.cli.command("member-samples")
    @click.argument("outdir", type=click.Path(file_okay=False))
    @click.option("--count", default=30, show_default=True)
    def member_samples(outdir: str, count: int) -> None:
        """Write a filled member list with typical mistakes, the corrected list and the 2x3 photos (.zip)."""
        from pathlib import Path

        from engine.members.samples import sample_files

        files = sample_files(count)
        folder = Path(outdir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "danh_sach_co_loi.xlsx").write_bytes(files.with_mistakes)
        (folder / "danh_sach_da_sua.xlsx").write_bytes(files.corrected)
        (folder / "anh_2x3.zip").write_bytes(files.photos_zip)
        click.echo(f"Đã ghi 3 tệp vào {folder}: danh_sach_co_loi.xlsx, danh_sach_da_sua.xlsx, anh_2x3.zip")
        for mistake in files.mistakes:
            click.echo(f"  lỗi cố ý: {mistake}")

    @app.cli.command("deploy")
    def deploy() -> None:
        """Validate processes/ and store new versions; broken files are reported and refused."""
        result = runtime().deploy(db.session)
        db.session.commit()
        for problem in result.problems:
            click.echo(f"! {problem}")
        click.echo(f"deployed: {', '.join(sorted(result.definitions))}")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.password_option()
    def create_admin(username: str, password: str) -> None:
        try:
            accounts.create_user(db.session, username, username, password, is_admin=True)
        except InvalidInput as exc:
            raise click.ClickException(f"{exc.message}: {exc.field_errors}") from exc
        db.session.commit()
        click.echo(f"created {username}")
