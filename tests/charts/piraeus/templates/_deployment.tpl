{{- define "piraeus-operator.deployment" -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "piraeus-operator.fullname" . }}-controller-manager
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "piraeus-operator.selectorLabels" . | nindent 4 }}
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "piraeus-operator.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "piraeus-operator.selectorLabels" . | nindent 8 }}
    spec:
      containers:
        - name: manager
          image: {{ .Values.operator.image.repository }}:{{ .Values.operator.image.tag | default .Chart.AppVersion }}
          imagePullPolicy: {{ .Values.operator.image.pullPolicy }}
          command: [/manager]
          args:
            - --health-probe-bind-address=:8081
            {{- range $opt, $val := .Values.operator.options }}
            - --{{ $opt | kebabcase }}={{ $val }}
            {{- end }}
          resources:
            {{- toYaml .Values.operator.resources | nindent 12 }}
      nodeSelector:
        {{- toYaml .Values.nodeSelector | nindent 8 }}
      tolerations:
        {{- toYaml .Values.tolerations | nindent 8 }}
      affinity:
        {{- toYaml .Values.affinity | nindent 8 }}
{{- end -}}
