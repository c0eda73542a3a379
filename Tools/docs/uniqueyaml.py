"""YAML loading that refuses a key given twice in one mapping (PyYAML would silently keep the
last one; a stray duplicate once dropped text from an OpenAPI file). Keys brought in by a merge
(`<<: *anchor`) may still be overridden, as Compose allows. Shared by validate.py,
contractcheck.py and deploycheck.py."""

import yaml


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when there is one
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)
