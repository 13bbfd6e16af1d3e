{{- define "tensor-fusion.config" -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ include "tensor-fusion.namespace" . }}
  labels:
    {{- include "tensor-fusion.labels" . | nindent 4 }}
data:
  config.yaml: |
    {{- toYaml .Values.dynamicConfig | nindent 4 }}
  scheduler-config.yaml: |
    {{- toYaml .Values.schedulerConfig | nindent 4 }}
{{- end -}}
