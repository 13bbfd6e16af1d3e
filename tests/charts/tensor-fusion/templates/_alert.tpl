{{- define "tensor-fusion.alert" -}}
{{- if .Values.alert.enabled }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-alert-manager-config
  namespace: {{ include "tensor-fusion.namespace" . }}
  labels:
    tensor-fusion.ai/component: alert-manager
data:
  alertmanager.yml: |
    {{- toYaml .Values.alert.alertManagerConfig | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-alert-manager-headless
  namespace: {{ include "tensor-fusion.namespace" . }}
spec:
  clusterIP: None
  ports:
    - {name: http, port: 9093, targetPort: 9093}
    - {name: cluster, port: 9094, targetPort: 9094}
  selector:
    tensor-fusion.ai/component: alert-manager
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-alert-manager
  namespace: {{ include "tensor-fusion.namespace" . }}
  labels:
    tensor-fusion.ai/component: alert-manager
spec:
  replicas: {{ .Values.alert.replicaCount }}
  serviceName: {{ .Release.Name }}-alert-manager-headless
  selector:
    matchLabels:
      tensor-fusion.ai/component: alert-manager
  template:
    metadata:
      labels:
        tensor-fusion.ai/component: alert-manager
    spec:
      containers:
        - name: alertmanager
          image: quay.io/prometheus/alertmanager:v0.28.1
          args:
            - --storage.path=/alertmanager
            - --config.file=/etc/alertmanager/alertmanager.yml
          resources:
            {{- toYaml .Values.alert.resources | nindent 12 }}
          volumeMounts:
            - {name: config, mountPath: /etc/alertmanager}
            - {name: alertmanager-storage, mountPath: /alertmanager}
      volumes:
        - name: config
          configMap:
            name: {{ .Release.Name }}-alert-manager-config
        {{- if not .Values.alert.persistence.enabled }}
        - name: alertmanager-storage
          emptyDir: {}
        {{- end }}
  {{- if .Values.alert.persistence.enabled }}
  volumeClaimTemplates:
    - apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: alertmanager-storage
      spec:
        accessModes: [ReadWriteOnce]
        {{- with .Values.alert.persistence.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ required "alert.persistence.size is required when alert.persistence.enabled" .Values.alert.persistence.size }}
  {{- end }}
{{- end }}
{{- end -}}
