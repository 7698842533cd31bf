"""Account forms (CSRF comes from Flask-WTF on every one)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignupForm(FlaskForm):
    display_name = StringField("What should we call you?", validators=[DataRequired(), Length(max=60)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password (at least 8 characters)", validators=[DataRequired()])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device for 30 days")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password (at least 8 characters)", validators=[DataRequired()])


class DeleteForm(FlaskForm):
    password = PasswordField("Your password, to confirm it is you", validators=[DataRequired()])
    confirm = BooleanField("I understand that this cannot be undone",
                           validators=[DataRequired("Tick the box to confirm.")])
