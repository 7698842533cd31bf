"""Account forms (CSRF comes from Flask-WTF on every one)."""
from flask import request
from flask_wtf import FlaskForm as _FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..web import UnstorableText


class FlaskForm(_FlaskForm):
    """Flask-WTF's form, but a JSON body that is not an object, or holds lists or objects,
    or is nested too deep to parse, is read as missing fields (a clear 400) instead of crashing
    the form (a 500)."""

    class Meta(_FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if (formdata is not None and not isinstance(formdata, ImmutableMultiDict)
                    and request.method != "GET" and request.is_json and not request.form):
                try:
                    data = request.get_json(silent=False)
                except UnstorableText:
                    raise  # a NUL or a lone surrogate: said in words (couple/web.py)
                except BadRequest:  # not JSON, or nested too deep: no fields, a clear 400
                    data = None
                data = data if isinstance(data, dict) else {}
                # A lone surrogate or a NUL never gets here: the JSON reader refused it in
                # words (web.UnstorableText, raised above).
                return ImmutableMultiDict({k: str(v) for k, v in data.items()
                                           if isinstance(v, (str, int, float, bool))})
            return super().wrap_formdata(form, formdata)


class SignupForm(FlaskForm):
    display_name = StringField("What should we call you?",
                               validators=[DataRequired(), Length(max=60)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password (at least 8 characters)", validators=[DataRequired()])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device for 30 days")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password (at least 8 characters)",
                                 validators=[DataRequired()])


class DeleteForm(FlaskForm):
    password = PasswordField("Your password, to confirm it is you", validators=[DataRequired()])
    confirm = BooleanField("I understand that this cannot be undone",
                           validators=[DataRequired("Tick the box to confirm.")])


class ForgotForm(FlaskForm):
    email = EmailField("Your account's email", validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    new_password = PasswordField("New password (at least 8 characters)",
                                 validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the link's token is in the address."""


class EmailForm(FlaskForm):
    # Names of their own: the account page also has the delete form's `password`.
    new_email = EmailField("New email address", validators=[DataRequired(), Length(max=254)])
    email_password = PasswordField("Password, to confirm the change",
                                   validators=[DataRequired()])
