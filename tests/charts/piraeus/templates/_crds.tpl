{{- define "piraeus-operator.crds" -}}
{{- if .Values.installCRDs }}
{{- $crds := .Files.Glob "crds-upstream/*.yaml" }}
{{- if not $crds }}
{{- fail "installCRDs is true but crds-upstream/ is empty: stage this chart with tests/charts/stage (it copies the upstream CRDs from ../shared/upstream/piraeus/crds)" }}
{{- end }}
{{- range $path, $_ := $crds }}
---
{{ $.Files.Get $path }}
{{- end }}
{{- end }}

{{- end -}}
