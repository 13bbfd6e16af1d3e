{{/*
Every object's template lives in a _*.tpl file like this one; the .yaml files beside them only
include it. ansible-test's yamllint reads every .yml/.yaml file of the collection, and a Go
template is not YAML, so the .yaml files hold the include in a YAML comment.
*/}}

{{- define "gpu-telemetry.name" -}}gpu-telemetry{{- end }}

{{- define "gpu-telemetry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/name: {{ include "gpu-telemetry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: gpu-telemetry
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "queue") */}}
{{- define "gpu-telemetry.selector" -}}
app.kubernetes.io/name: {{ include "gpu-telemetry.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gpu-telemetry.componentLabels" -}}
{{ include "gpu-telemetry.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gpu-telemetry.queueName" -}}{{ .Release.Name }}-queue{{- end }}

{{- define "gpu-telemetry.queueURL" -}}
{{ ternary "https" "http" .Values.tls.enabled }}://{{ include "gpu-telemetry.queueName" . }}.{{ .Release.Namespace }}.svc:{{ .Values.queue.port }}
{{- end }}

{{- define "gpu-telemetry.redis" -}}{{ eq .Values.queue.backend "redis" }}{{- end }}

{{/* Where the CA of the queue's certificate is mounted in streamers and collectors. */}}
{{- define "gpu-telemetry.caDir" -}}/etc/gpu-telemetry/queue-ca{{- end }}

{{/* Replicas of a client Deployment: 0 while only the queue is installed. */}}
{{- define "gpu-telemetry.clientReplicas" -}}
{{- if .root.Values.queueOnly }}0{{ else }}{{ .replicas }}{{ end }}
{{- end }}

{{/* Pod annotations: restart pods when the credentials (or the CSV) change. */}}
{{- define "gpu-telemetry.podAnnotations" -}}
gpufleet.io/credentials-version: {{ .Values.credentials.version | toString | quote }}
{{- end }}

{{- define "gpu-telemetry.serviceAccountName" -}}{{ .Release.Name }}{{- end }}

{{/*
Pod Security "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
the same for every pod: a non-root user and group the values name, RuntimeDefault seccomp, the
release's own ServiceAccount without an API token (no component talks to the API server).
*/}}
{{- define "gpu-telemetry.podSecurity" -}}
serviceAccountName: {{ include "gpu-telemetry.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .Values.podSecurity.runAsUser }}
  runAsGroup: {{ .Values.podSecurity.runAsGroup }}
  fsGroup: {{ .Values.podSecurity.fsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/* Scheduling, the same for every component. */}}
{{- define "gpu-telemetry.scheduling" -}}
{{- include "gpu-telemetry.podSecurity" . }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The root filesystem is read-only: a container writes only to its /tmp (an emptyDir). */}}
{{- define "gpu-telemetry.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "gpu-telemetry.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "gpu-telemetry.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.podSecurity.tmpSizeLimit | quote }}
{{- end }}

{{/* The release's ServiceAccount: no token mounted by default in any pod that uses it. */}}
{{- define "gpu-telemetry.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "gpu-telemetry.serviceAccountName" . }}
  labels:
    {{- include "gpu-telemetry.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- end }}

{{/* Env and mounts that let a client trust the queue's certificate. */}}
{{- define "gpu-telemetry.clientTLSEnv" -}}
{{- if .Values.tls.enabled -}}
- name: QUEUE_CA_FILE
  value: {{ printf "%s/%s" (include "gpu-telemetry.caDir" .) .Values.tls.caKey | quote }}
{{- end }}
{{- end }}

{{- define "gpu-telemetry.clientTLSMount" -}}
{{- if .Values.tls.enabled -}}
- name: queue-ca
  mountPath: {{ include "gpu-telemetry.caDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "gpu-telemetry.clientTLSVolume" -}}
{{- if .Values.tls.enabled -}}
- name: queue-ca
  secret:
    secretName: {{ .Values.tls.secretName | quote }}
    items:
      - key: {{ .Values.tls.caKey | quote }}
        path: {{ .Values.tls.caKey | quote }}
{{- end }}
{{- end }}

{{- define "gpu-telemetry.redisEnv" -}}
{{- if eq .Values.queue.backend "redis" -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.credentials.secretName | quote }}
      key: {{ .Values.credentials.redisUrlKey | quote }}
{{- end }}
{{- end }}
