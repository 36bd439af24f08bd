// Hl7.Fhir.Model has a resource called Task; in this project "Task" means System.Threading.Tasks.Task.
global using Task = System.Threading.Tasks.Task;
global using FhirTask = Hl7.Fhir.Model.Task;
global using FhirTaskStatus = Hl7.Fhir.Model.Task.TaskStatus;
