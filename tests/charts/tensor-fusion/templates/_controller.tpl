{{- define "tensor-fusion.controller" -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-controller
  namespace: {{ include "tensor-fusion.namespace" . }}
  labels:
    tensor-fusion.ai/component: operator
    {{- include "tensor-fusion.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.controller.replicaCount }}
  selector:
    matchLabels:
      tensor-fusion.ai/component: operator
  template:
    metadata:
      labels:
        tensor-fusion.ai/component: operator
      {{- with .Values.controller.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      containers:
        - name: controller
          image: tensorfusion/tensor-fusion-operator:{{ .Chart.AppVersion }}
          command:
            {{- toYaml .Values.controller.command | nindent 12 }}
          env:
            - {name: GREPTIMEDB_HOST, value: {{ .Values.greptime.host | quote }}}
            - {name: GREPTIMEDB_PORT, value: {{ .Values.greptime.port | quote }}}
          resources:
            {{- toYaml .Values.controller.resources | nindent 12 }}
          volumeMounts:
            - {name: config, mountPath: /tensor-fusion/config.yaml, subPath: config.yaml}
            - {name: config, mountPath: /tensor-fusion/scheduler-config.yaml, subPath: scheduler-config.yaml}
      volumes:
        - name: config
          configMap:
            name: {{ .Release.Name }}-config
{{- end -}}
