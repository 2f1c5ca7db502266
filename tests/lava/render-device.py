#!/usr/bin/python3
"""render-device.py TEMPLATES NAME DICT KEY=VALUE...: writes DICT, a LAVA
device dictionary as a server keeps one (a Jinja2 template that extends the
device type NAME.jinja2 and sets its variables), and prints it rendered as
lava-server renders it, from the device types in TEMPLATES.  Values that
look like YAML lists ("[a, b]") are lists (extra_options).

Only a server applies a job's context: to a device type, so the QEMU
options of a lab host go here (docs/lava.md)."""
import json
import sys

import jinja2
import yaml


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    templates, name, dict_path = sys.argv[1], sys.argv[2], sys.argv[3]
    lines = ["{%% extends '%s.jinja2' %%}" % name]
    for arg in sys.argv[4:]:
        key, sep, value = arg.partition("=")
        if not sep or not key.isidentifier():
            sys.stderr.write("render-device.py: not KEY=VALUE: %r\n" % arg)
            return 2
        if value.startswith("["):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                sys.stderr.write("render-device.py: %s: not a YAML list: %s\n" % (key, exc))
                return 2
        # JSON strings and lists are Jinja2 literals as well.
        lines.append("{%% set %s = %s %%}" % (key, json.dumps(value)))
    source = "\n".join(lines) + "\n"
    with open(dict_path, "w") as f:
        f.write(source)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([templates]), trim_blocks=True,
                             autoescape=False)
    text = env.from_string(source).render()
    # What the dispatcher will read: refuse a dictionary that is not YAML.
    device = yaml.safe_load(text)
    if not isinstance(device, dict) or "actions" not in device:
        sys.stderr.write("render-device.py: %s did not render a device dictionary\n" % name)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
