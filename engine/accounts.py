"""Users, passwords, roles at units, and the unit scope every query is limited to."""
from __future__ import annotations

import hashlib
import hmac
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.models import OrgUnit, RoleAssignment, User
from engine.orgtree import descendant_ids, nfc
from engine.roles import ROLES

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng", user_id=user_id)
    return user


def create_user(session: Session, username: str, full_name: str, password: str, email: str | None = None,
                is_admin: bool = False) -> User:
    username = username.strip().lower()
    errors = {}
    if not username or not username.replace(".", "").replace("_", "").isalnum():
        errors["username"] = "Tên đăng nhập chỉ gồm chữ, số, dấu chấm và gạch dưới"
    elif user_by_username(session, username) is not None:
        errors["username"] = "Tên đăng nhập đã tồn tại"
    if len(password) < 8:
        errors["password"] = "Mật khẩu cần ít nhất 8 ký tự"
    if not full_name.strip():
        errors["full_name"] = "Bắt buộc"
    if errors:
        raise InvalidInput("Thông tin người dùng không hợp lệ", field_errors=errors)
    user = User(username=username, full_name=nfc(full_name), email=email, is_admin=is_admin,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = user_by_username(session, username)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def grant_role(session: Session, user: User, unit: OrgUnit, role: str) -> RoleAssignment:
    if role not in ROLES:
        raise InvalidInput("Vai trò không hợp lệ", field_errors={"role": "Vai trò không hợp lệ"})
    existing = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.unit_id == unit.id, RoleAssignment.role == role))
    if existing is not None:
        return existing
    assignment = RoleAssignment(user_id=user.id, unit_id=unit.id, role=role)
    session.add(assignment)
    session.flush()
    forget_cached_roles(session)
    return assignment


def revoke_role(session: Session, assignment_id: int) -> RoleAssignment:
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFound("Không tìm thấy phân quyền")
    session.delete(assignment)
    forget_cached_roles(session)
    return assignment


def _cache(session: Session) -> dict:
    return session.info.setdefault("accounts_cache", {})


def forget_cached_roles(session: Session) -> None:
    """Drop the per-session cache of roles and scopes (after grants, revokes or tree changes)."""
    session.info.pop("accounts_cache", None)


def role_pairs(session: Session, user: User) -> list[tuple[str, int]]:
    """(role, unit_id) pairs the user holds (cached for the session: one request or one job)."""
    key = ("pairs", user.id)
    cache = _cache(session)
    if key not in cache:
        rows = session.execute(select(RoleAssignment.role, RoleAssignment.unit_id)
                               .where(RoleAssignment.user_id == user.id)).all()
        cache[key] = [(r, u) for r, u in rows]
    return cache[key]


def scope_unit_ids(session: Session, user: User) -> set[int] | None:
    """Units whose data the user may see: those where they hold a role and everything below.
    ``None`` means no limit (administrators)."""
    if user.is_admin:
        return None
    key = ("scope", user.id)
    cache = _cache(session)
    if key not in cache:
        cache[key] = descendant_ids(session, {u for _, u in role_pairs(session, user)})
    return cache[key]


def in_scope(session: Session, user: User, unit_id: int | None) -> bool:
    scope = scope_unit_ids(session, user)
    return scope is None or (unit_id is not None and unit_id in scope)


def manages_unit(session: Session, user: User, unit_id: int | None) -> bool:
    """Managers (leader/manager roles) may reassign tasks of their unit."""
    if user.is_admin:
        return True
    return any(ROLES[r].manager and u == unit_id for r, u in role_pairs(session, user) if r in ROLES)


def users_with_role(session: Session, role: str, unit_id: int) -> list[User]:
    return list(session.scalars(select(User).join(RoleAssignment)
                                .where(RoleAssignment.role == role, RoleAssignment.unit_id == unit_id,
                                       User.active.is_(True))))
