"""One table of settings: each is the Config field of the same name, with the field's default."""

import dataclasses

from openkms.config.settings import SETTINGS, config_from
from openkms.config.values import Config


def test_every_setting_is_the_config_field_of_its_name() -> None:
    assert {setting.name for setting in SETTINGS} == {field.name for field in dataclasses.fields(Config)}


def test_the_defaults_of_every_setting_make_the_default_config() -> None:
    defaults = {setting.name: (setting.default, "default") for setting in SETTINGS}
    assert config_from(defaults) == dataclasses.replace(Config(), data_dir=Config().data_dir.resolve())
